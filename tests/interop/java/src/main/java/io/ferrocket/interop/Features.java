package io.ferrocket.interop;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

import static io.ferrocket.interop.Scenario.check;

/**
 * Feature scenarios beyond plain publish/subscribe: transactions with check-back, SQL92 filters,
 * delay levels, consumer retry and the dead-letter queue, orderly consumption (queue locks), and
 * query by key / view by id. Needs the broker.conf the runner writes (enablePropertyFilter=true,
 * short transaction timeout and check interval).
 */
final class Features {
    private final Main.Config cfg;
    private final String ns;

    private Features(Main.Config cfg) {
        this.cfg = cfg;
        this.ns = cfg.namesrv;
    }

    static void register(Main.Config cfg, List<Scenario> out) {
        Features f = new Features(cfg);
        out.add(new Scenario("transaction", 1, f::transaction));
        out.add(new Scenario("sql92-filter", 1, f::sql92));
        out.add(new Scenario("delay-level", 1, f::delayLevel));
        out.add(new Scenario("retry-then-dlq", 1, f::retryThenDlq));
        out.add(new Scenario("orderly", 1, f::orderly));
        out.add(new Scenario("query-by-key-and-id", 1, f::queryByKeyAndId));
        // Timer messages (arbitrary delivery time) exist from client 5.0 on.
        if (deliverTimeSetter() != null) {
            out.add(new Scenario("timer-message", 1, f::timerMessage));
        }
    }

    private static java.lang.reflect.Method deliverTimeSetter() {
        try {
            return Message.class.getMethod("setDeliverTimeMs", long.class);
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    /** Message.setDeliverTimeMs (5.x): delivered at that time, not before. */
    private void timerMessage() throws Exception {
        String topic = cfg.name("timer");
        MsgSpec s = spec(topic, "t0", 0);
        Map<String, Long> arrivals = new ConcurrentHashMap<>();
        Collector col = new Collector(List.of(s));
        DefaultMQProducer p = Clients.producer(ns, cfg.name("timer_pg"));
        DefaultMQPushConsumer c = null;
        try {
            check(p.send(spec(topic, "warm", 1).toMessage()).getSendStatus() == SendStatus.SEND_OK, "warm-up send");
            c = consumer(ns, cfg.name("timer_cg"), cfg.name("timer_cg"));
            c.subscribe(topic, "TagA");
            c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    if ("t0".equals(m.getUserProperty(MsgSpec.ID_PROP))) {
                        arrivals.putIfAbsent("t0", System.currentTimeMillis());
                        col.accept("c", m);
                    }
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            c.start();
            Thread.sleep(2000);
            Message m = s.toMessage();
            long deliverAt = System.currentTimeMillis() + 4_000;
            deliverTimeSetter().invoke(m, deliverAt);
            check(p.send(m).getSendStatus() == SendStatus.SEND_OK, "timer send");
            col.awaitAll(30_000);
            col.assertComplete("timer-message");
            long early = deliverAt - arrivals.get("t0");
            check(early <= 1_000, "timer message delivered " + early + " ms before its time");
            check(arrivals.get("t0") - deliverAt < 15_000, "timer message delivered "
                + (arrivals.get("t0") - deliverAt) + " ms late");
        } finally {
            Clients.shutdown(c, p);
        }
    }

    private static DefaultMQPushConsumer consumer(String ns, String group, String instance) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        Clients.configure(c, ns, instance);
        Clients.setMessageModel(c, "CLUSTERING");
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        return c;
    }

    private static MsgSpec spec(String topic, String id, int index) {
        return MsgSpec.of(topic, id, index, "TagA", MsgSpec.SIZES[index % 4]);
    }

    /** Commit, rollback and "unknown" (resolved by the broker's check-back) transactions. */
    private void transaction() throws Exception {
        String topic = cfg.name("tx");
        String group = cfg.name("tx_pg");
        List<MsgSpec> commit = new ArrayList<>();
        List<MsgSpec> rollback = new ArrayList<>();
        List<MsgSpec> unknown = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            commit.add(spec(topic, "c" + i, i));
            rollback.add(spec(topic, "r" + i, i));
            unknown.add(spec(topic, "u" + i, i));
        }
        Set<String> checked = ConcurrentHashMap.newKeySet();
        TransactionMQProducer p = new TransactionMQProducer(group);
        Clients.configure(p, ns, group + "_i");
        p.setSendMsgTimeout(5000);
        p.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                String id = msg.getUserProperty(MsgSpec.ID_PROP);
                if (id.startsWith("c")) {
                    return LocalTransactionState.COMMIT_MESSAGE;
                }
                return id.startsWith("r") ? LocalTransactionState.ROLLBACK_MESSAGE : LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                // The answer a real application gives: its own record of each transaction. (A Java
                // 5.x broker batches its op entries, so it may check a transaction that was already
                // rolled back; it must stay rolled back.)
                String id = msg.getUserProperty(MsgSpec.ID_PROP);
                checked.add(id);
                return id.startsWith("r") ? LocalTransactionState.ROLLBACK_MESSAGE : LocalTransactionState.COMMIT_MESSAGE;
            }
        });
        p.start();
        List<MsgSpec> expected = new ArrayList<>(commit);
        expected.addAll(unknown);
        Collector col = new Collector(expected);
        DefaultMQPushConsumer c = null;
        try {
            // A plain message creates the topic, so the consumer can subscribe before the transactions.
            SendResult warm = p.send(new Message(topic, "TagW", "warm".getBytes(StandardCharsets.UTF_8)));
            check(warm.getSendStatus() == SendStatus.SEND_OK, "warm-up send " + warm.getSendStatus());
            c = consumer(ns, cfg.name("tx_cg"), cfg.name("tx_cg"));
            c.subscribe(topic, "TagA");
            final Collector fc = col;
            c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                msgs.forEach(m -> fc.accept("c", m));
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            c.start();
            List<MsgSpec> all = new ArrayList<>(commit);
            all.addAll(rollback);
            all.addAll(unknown);
            for (MsgSpec s : all) {
                TransactionSendResult r = p.sendMessageInTransaction(s.toMessage(), null);
                check(r.getSendStatus() == SendStatus.SEND_OK, "half send " + s.id + ": " + r.getSendStatus());
                check(r.getTransactionId() != null, "half send " + s.id + ": no transaction id");
            }
            col.awaitAll(45_000);
            Thread.sleep(1000); // a rolled-back message would show up as unexpected
        } finally {
            Clients.shutdown(c, p);
        }
        // At-least-once: the Java 5.x broker batches its op entries and may check (and so commit) a
        // transaction twice, delivering it twice; that is allowed, a rolled-back one arriving is not.
        col.assertComplete("transaction (committed + checked-back)");
        for (MsgSpec s : unknown) {
            check(checked.contains(s.id), "the broker never checked transaction " + s.id + " (checked " + checked + ")");
        }
    }

    /** MessageSelector.bySql against user properties and TAGS. */
    private void sql92() throws Exception {
        String topic = cfg.name("sql");
        List<MsgSpec> all = new ArrayList<>();
        List<MsgSpec> wanted = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            MsgSpec s = MsgSpec.of(topic, "s" + i, i, i == 9 ? "TagZ" : "TagA", 100);
            all.add(s);
            if ((i >= 3 && i <= 5) || i == 9) {
                wanted.add(s);
            }
        }
        Collector col = new Collector(wanted);
        DefaultMQProducer p = Clients.producer(ns, cfg.name("sql_pg"));
        DefaultMQPushConsumer c = null;
        try {
            for (MsgSpec s : all) {
                check(p.send(s.toMessage()).getSendStatus() == SendStatus.SEND_OK, "send " + s.id);
            }
            Clients.awaitRoute(p, topic, 15_000);
            c = consumer(ns, cfg.name("sql_cg"), cfg.name("sql_cg"));
            c.subscribe(topic, MessageSelector.bySql("(fr_idx BETWEEN 3 AND 5) OR TAGS = 'TagZ'"));
            c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                msgs.forEach(m -> col.accept("c", m));
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            c.start();
            col.awaitAll(30_000);
            Thread.sleep(1500); // filtered-out messages would show up as unexpected
        } finally {
            Clients.shutdown(c, p);
        }
        col.assertComplete("sql92");
        col.assertNoDuplicates("sql92");
    }

    /** A delay-level-2 (5 s) message is not delivered before its time. */
    private void delayLevel() throws Exception {
        String topic = cfg.name("delay");
        MsgSpec s = spec(topic, "d0", 0);
        Map<String, Long> arrivals = new ConcurrentHashMap<>();
        Collector col = new Collector(List.of(s));
        DefaultMQProducer p = Clients.producer(ns, cfg.name("delay_pg"));
        DefaultMQPushConsumer c = null;
        try {
            check(p.send(spec(topic, "warm", 1).toMessage()).getSendStatus() == SendStatus.SEND_OK, "warm-up send");
            c = consumer(ns, cfg.name("delay_cg"), cfg.name("delay_cg"));
            c.subscribe(topic, "TagA");
            c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    if ("d0".equals(m.getUserProperty(MsgSpec.ID_PROP))) {
                        arrivals.putIfAbsent("d0", System.currentTimeMillis());
                        col.accept("c", m);
                    }
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            c.start();
            Thread.sleep(2000); // the consumer is pulling before the delayed message is sent
            Message m = s.toMessage();
            m.setDelayTimeLevel(2);
            long sent = System.currentTimeMillis();
            check(p.send(m).getSendStatus() == SendStatus.SEND_OK, "delayed send");
            col.awaitAll(30_000);
            col.assertComplete("delay-level");
            long waited = arrivals.get("d0") - sent;
            check(waited >= 4_000, "level-2 (5 s) message delivered after only " + waited + " ms");
            check(waited < 20_000, "level-2 (5 s) message delivered after " + waited + " ms");
        } finally {
            Clients.shutdown(c, p);
        }
    }

    /** RECONSUME_LATER sends a message back (retry after delay level 3); past maxReconsumeTimes it lands in the DLQ. */
    private void retryThenDlq() throws Exception {
        String topic = cfg.name("retry");
        String group = cfg.name("retry_cg");
        MsgSpec s = spec(topic, "x0", 2);
        ConcurrentLinkedQueue<Integer> attempts = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        DefaultMQProducer p = Clients.producer(ns, cfg.name("retry_pg"));
        DefaultMQPushConsumer c = null;
        DefaultMQPushConsumer dlq = null;
        Collector dead = new Collector(List.of(s));
        try {
            check(p.send(s.toMessage()).getSendStatus() == SendStatus.SEND_OK, "send");
            Clients.awaitRoute(p, topic, 15_000);
            c = consumer(ns, group, group);
            c.setMaxReconsumeTimes(1);
            c.subscribe(topic, "*");
            c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    attempts.add(m.getReconsumeTimes());
                    String d = s.diff(m);
                    if (d != null && !d.contains("stored at queue")) {
                        problems.add("attempt " + m.getReconsumeTimes() + ": " + d);
                    }
                    if (!topic.equals(m.getTopic())) {
                        problems.add("retried message has topic " + m.getTopic());
                    }
                }
                return ConsumeConcurrentlyStatus.RECONSUME_LATER;
            });
            c.start();
            // first delivery, then the retry 10 s later (delay level 3), then the DLQ
            dlq = consumer(ns, cfg.name("dlq_reader"), cfg.name("dlq_reader"));
            dlq.subscribe("%DLQ%" + group, "*");
            dlq.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                msgs.forEach(m -> dead.accept("dlq", m));
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            long deadline = System.currentTimeMillis() + 40_000;
            boolean dlqStarted = false;
            while (System.currentTimeMillis() < deadline && dead.distinct() == 0) {
                if (!dlqStarted && attempts.size() >= 2) {
                    Thread.sleep(1000);
                    dlq.start();
                    dlqStarted = true;
                }
                Thread.sleep(200);
            }
            check(problems.isEmpty(), String.join("; ", problems));
            check(attempts.size() >= 2, "expected a first delivery and one retry, got reconsumeTimes " + attempts);
            check(attempts.contains(0) && attempts.contains(1), "reconsumeTimes seen: " + attempts);
            check(dlqStarted, "the retry never came back");
            dead.awaitAll(5_000);
        } finally {
            Clients.shutdown(c, dlq, p);
        }
        check(dead.distinct() == 1, "the message never reached %DLQ%" + group);
        // in the DLQ the topic is the DLQ topic, so only check the content
        // (Collector already compared body, tags, keys and properties)
    }

    /** MessageListenerOrderly over queue locks: per-queue order is kept. */
    private void orderly() throws Exception {
        String topic = cfg.name("order");
        DefaultMQProducer p = Clients.producer(ns, cfg.name("order_pg"));
        Map<Integer, List<Integer>> seen = new ConcurrentHashMap<>();
        AtomicInteger received = new AtomicInteger();
        DefaultMQPushConsumer c = null;
        int perQueue = 15;
        try {
            check(p.send(new Message(topic, "TagW", "warm".getBytes(StandardCharsets.UTF_8))).getSendStatus()
                == SendStatus.SEND_OK, "warm-up send");
            List<MessageQueue> mqs = Clients.awaitRoute(p, topic, 15_000);
            for (int i = 0; i < perQueue; i++) {
                for (MessageQueue mq : mqs) {
                    Message m = new Message(topic, "TagO", ("q" + mq.getQueueId() + "-" + i).getBytes(StandardCharsets.UTF_8));
                    m.putUserProperty("fr_seq", Integer.toString(i));
                    check(p.send(m, mq).getSendStatus() == SendStatus.SEND_OK, "send to " + mq);
                }
            }
            c = consumer(ns, cfg.name("order_cg"), cfg.name("order_cg"));
            c.subscribe(topic, "TagO");
            c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    seen.computeIfAbsent(m.getQueueId(), k -> new ArrayList<>())
                        .add(Integer.parseInt(m.getUserProperty("fr_seq")));
                    received.incrementAndGet();
                }
                return ConsumeOrderlyStatus.SUCCESS;
            });
            c.start();
            long deadline = System.currentTimeMillis() + 40_000;
            while (System.currentTimeMillis() < deadline && received.get() < perQueue * mqs.size()) {
                Thread.sleep(200);
            }
            check(received.get() == perQueue * mqs.size(), "orderly consumer got " + received.get() + " of "
                + perQueue * mqs.size());
            for (Map.Entry<Integer, List<Integer>> e : seen.entrySet()) {
                List<Integer> order = e.getValue();
                for (int i = 0; i < order.size(); i++) {
                    check(order.get(i) == i, "queue " + e.getKey() + " consumed out of order: " + order);
                }
            }
        } finally {
            Clients.shutdown(c, p);
        }
    }

    /** The producer's MQAdmin API: query by key (index) and view by offset msgId. */
    @SuppressWarnings("deprecation")
    private void queryByKeyAndId() throws Exception {
        String topic = cfg.name("query");
        MsgSpec s = spec(topic, "q0", 3);
        DefaultMQProducer p = Clients.producer(ns, cfg.name("query_pg"));
        try {
            long begin = System.currentTimeMillis() - 60_000;
            SendResult r = p.send(s.toMessage());
            check(r.getSendStatus() == SendStatus.SEND_OK, "send");
            MessageExt viewed = null;
            for (int i = 0; i < 50 && viewed == null; i++) {
                try {
                    viewed = p.viewMessage(topic, r.getOffsetMsgId());
                } catch (Exception e) {
                    Thread.sleep(200);
                }
            }
            check(viewed != null, "viewMessage(" + r.getOffsetMsgId() + ") found nothing");
            String d = s.diff(viewed);
            check(d == null, "viewMessage: " + d);
            List<MessageExt> found = List.of();
            for (int i = 0; i < 50 && found.isEmpty(); i++) {
                try {
                    found = p.queryMessage(topic, "alt-q0", 32, begin, System.currentTimeMillis() + 60_000).getMessageList();
                } catch (Exception e) {
                    Thread.sleep(200);
                }
            }
            check(found.size() == 1, "queryMessage by key found " + found.size() + " messages");
            check(s.diff(found.get(0)) == null, "queryMessage: " + s.diff(found.get(0)));
        } finally {
            Clients.shutdown(p);
        }
    }
}
