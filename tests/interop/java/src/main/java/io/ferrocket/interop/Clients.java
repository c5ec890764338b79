package io.ferrocket.interop;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.apache.rocketmq.client.ClientConfig;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Client factories. Only API present in both rocketmq-client 4.9.x and 5.3.x is used directly;
 * the one enum that moved package between them (MessageModel) is set by reflection.
 */
final class Clients {
    private Clients() {
    }

    static void configure(ClientConfig c, String namesrv, String instanceName) {
        c.setNamesrvAddr(namesrv);
        // Distinct instance names give every client its own MQClientInstance (own client id),
        // as two separate processes would have.
        c.setInstanceName(instanceName);
        // Defaults are 30 s / 5 s; shorter values keep scenarios fast but use the same requests.
        c.setPollNameServerInterval(1000);
        c.setPersistConsumerOffsetInterval(1000);
        // A rebalance bumps the subscription version and heartbeats at once, but the client skips
        // that heartbeat when another one holds its lock; pulls then get SUBSCRIPTION_NOT_LATEST
        // (from any RocketMQ broker) until the next periodic heartbeat (30 s by default).
        c.setHeartbeatBrokerInterval(1000);
    }

    static DefaultMQProducer producer(String namesrv, String group) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(group);
        configure(p, namesrv, group + "_i");
        p.setSendMsgTimeout(5000);
        p.start();
        return p;
    }

    /** Waits until the name server has a route for {@code topic} (auto-created topics appear async). */
    static List<MessageQueue> awaitRoute(DefaultMQProducer p, String topic, long timeoutMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        Exception last = null;
        while (System.currentTimeMillis() < deadline) {
            try {
                List<MessageQueue> mqs = p.fetchPublishMessageQueues(topic);
                if (mqs != null && !mqs.isEmpty()) {
                    return mqs;
                }
            } catch (Exception e) {
                last = e;
            }
            Thread.sleep(200);
        }
        throw Scenario.fail("no route for topic " + topic + " after " + timeoutMs + " ms"
            + (last == null ? "" : ": " + last));
    }

    static DefaultMQPushConsumer push(String namesrv, String group, String instance, String topic, String expr,
                                      String model, Collector col) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        configure(c, namesrv, instance);
        setMessageModel(c, model);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, expr);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                col.accept(instance, m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        return c;
    }

    static DefaultLitePullConsumer litePull(String namesrv, String group, String instance) {
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(group);
        configure(c, namesrv, instance);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        return c;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static void setMessageModel(DefaultMQPushConsumer c, String model) throws Exception {
        for (Method m : DefaultMQPushConsumer.class.getMethods()) {
            if (m.getName().equals("setMessageModel") && m.getParameterCount() == 1) {
                Class enumType = m.getParameterTypes()[0];
                m.invoke(c, Enum.valueOf(enumType, model));
                return;
            }
        }
        throw new IllegalStateException("DefaultMQPushConsumer.setMessageModel not found");
    }

    /** Queue ids of {@code topic} currently assigned to a push consumer by its rebalance. */
    static Set<Integer> assignedQueues(DefaultMQPushConsumer c, String topic) {
        Set<Integer> ids = new TreeSet<>();
        Collection<MessageQueue> mqs = new ArrayList<>(
            c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet());
        for (MessageQueue mq : mqs) {
            if (mq.getTopic().equals(topic)) {
                ids.add(mq.getQueueId());
            }
        }
        return ids;
    }

    static void shutdown(Object... clients) {
        for (Object o : clients) {
            try {
                if (o instanceof DefaultMQProducer) {
                    ((DefaultMQProducer) o).shutdown();
                } else if (o instanceof DefaultMQPushConsumer) {
                    ((DefaultMQPushConsumer) o).shutdown();
                } else if (o instanceof DefaultLitePullConsumer) {
                    ((DefaultLitePullConsumer) o).shutdown();
                }
            } catch (RuntimeException e) {
                System.out.println("# shutdown failed: " + e);
            }
        }
    }
}
