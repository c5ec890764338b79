package io.ferrocket.interop;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageClientExt;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * A message the test sends, with everything needed to check the copy that comes back:
 * id (carried in user property {@value #ID_PROP}), tags, keys, user properties and body.
 */
final class MsgSpec {
    static final String ID_PROP = "fr_id";

    /** Body sizes cycled through; several are above the clients' 4 KiB compression threshold. */
    static final int[] SIZES = {1, 17, 128, 1000, 4095, 4096, 4097, 8192, 20000, 50000};

    final String topic;
    final String id;
    final String tags;
    final String keys;
    final byte[] body;
    final Map<String, String> props;

    /** Filled in from the SendResult when the send is synchronous (null otherwise). */
    volatile String sentMsgId;
    volatile String sentOffsetMsgId;
    volatile int sentQueueId = -1;
    volatile long sentQueueOffset = -1;

    private MsgSpec(String topic, String id, String tags, String keys, byte[] body, Map<String, String> props) {
        this.topic = topic;
        this.id = id;
        this.tags = tags;
        this.keys = keys;
        this.body = body;
        this.props = Collections.unmodifiableMap(props);
    }

    /**
     * A deterministic message: the same (topic, id) always gives the same content, so a second JVM
     * (restart scenario, phase 2) can rebuild what phase 1 sent.
     * Every third body is compressible text, the others are random bytes 0x00-0xff.
     */
    static MsgSpec of(String topic, String id, int index, String tags, int size) {
        Random r = new Random((topic + "/" + id).hashCode() * 31L + size);
        byte[] body = new byte[size];
        if (index % 3 == 0) {
            byte[] pattern = ("ferrocket " + id + " line of compressible text; ").getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < size; i++) {
                body[i] = pattern[i % pattern.length];
            }
        } else {
            r.nextBytes(body);
        }
        Map<String, String> props = new LinkedHashMap<>();
        props.put(ID_PROP, id);
        props.put("fr_idx", Integer.toString(index));
        props.put("fr_utf8", "h\u00e9llo w\u00f6rld \u2603 \u65e5\u672c\u8a9e #" + index);
        props.put("fr_sym", "a=b;c:d,e/f?g&h=" + index + " {json:\"x\"} [1,2]");
        StringBuilder longValue = new StringBuilder();
        for (int i = 0; i < 100 + index; i++) {
            longValue.append((char) ('a' + (i % 26)));
        }
        props.put("fr_long", longValue.toString());
        String keys = "k-" + id + " alt-" + id;
        return new MsgSpec(topic, id, tags, keys, body, props);
    }

    Message toMessage() {
        Message m = new Message(topic, tags, keys, body);
        for (Map.Entry<String, String> e : props.entrySet()) {
            m.putUserProperty(e.getKey(), e.getValue());
        }
        return m;
    }

    /** Null when {@code m} is a faithful copy of this message, else what differs. */
    String diff(MessageExt m) {
        StringBuilder sb = new StringBuilder();
        if (!topic.equals(m.getTopic())) {
            sb.append(" topic=").append(m.getTopic());
        }
        if (!Objects.equals(tags, m.getTags())) {
            sb.append(" tags=").append(m.getTags()).append(" (want ").append(tags).append(')');
        }
        if (!Objects.equals(keys, m.getKeys())) {
            sb.append(" keys=").append(m.getKeys()).append(" (want ").append(keys).append(')');
        }
        if (!Arrays.equals(body, m.getBody())) {
            int got = m.getBody() == null ? -1 : m.getBody().length;
            sb.append(" body differs (len ").append(got).append(", want ").append(body.length).append(')');
        }
        for (Map.Entry<String, String> e : props.entrySet()) {
            String got = m.getUserProperty(e.getKey());
            if (!e.getValue().equals(got)) {
                sb.append(" property ").append(e.getKey()).append('=').append(got)
                    .append(" (want ").append(e.getValue()).append(')');
            }
        }
        if (sentMsgId != null && !sentMsgId.equals(m.getMsgId())) {
            sb.append(" msgId=").append(m.getMsgId()).append(" (send result said ").append(sentMsgId).append(')');
        }
        if (sentOffsetMsgId != null && m instanceof MessageClientExt
            && !sentOffsetMsgId.equals(((MessageClientExt) m).getOffsetMsgId())) {
            sb.append(" offsetMsgId=").append(((MessageClientExt) m).getOffsetMsgId())
                .append(" (send result said ").append(sentOffsetMsgId).append(')');
        }
        if (sentQueueOffset >= 0 && (sentQueueOffset != m.getQueueOffset() || sentQueueId != m.getQueueId())) {
            sb.append(" stored at queue ").append(m.getQueueId()).append(" offset ").append(m.getQueueOffset())
                .append(" (send result said queue ").append(sentQueueId).append(" offset ").append(sentQueueOffset).append(')');
        }
        return sb.length() == 0 ? null : "message " + id + ":" + sb;
    }
}
