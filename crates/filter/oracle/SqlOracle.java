// Differential-testing harness: evaluates SQL92 selectors with RocketMQ's own Java filter
// classes (org.apache.rocketmq.filter.*), for tests/java_oracle.rs. Not part of the build.
//
// Protocol, one case per line on stdin: hex(expression) then, tab-separated, hex(name)=hex(value)
// pairs (UTF-8 hex). Output, one line per case: T (TRUE), F (FALSE), N (NULL), E (evaluation
// threw), P (parse failed), X (non-boolean result).
//
// Build against the classes of the rocketmq `filter` module (they only need Guava), e.g.:
//   javac -cp guava.jar -d out $(find <rocketmq>/filter/src/main/java -name '*.java') SqlOracle.java
//   java -cp out:guava.jar SqlOracle < cases.txt

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.rocketmq.filter.expression.BooleanExpression;
import org.apache.rocketmq.filter.expression.EvaluationContext;
import org.apache.rocketmq.filter.parser.SelectorParser;

public class SqlOracle {
    static String unhex(String s) {
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return new String(b, StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(System.out);
        String line;
        while ((line = in.readLine()) != null) {
            String[] parts = line.split("\t", -1);
            String expr = unhex(parts[0]);
            final Map<String, String> props = new HashMap<>();
            for (int i = 1; i < parts.length; i++) {
                if (parts[i].isEmpty()) {
                    continue;
                }
                int eq = parts[i].indexOf('=');
                props.put(unhex(parts[i].substring(0, eq)), unhex(parts[i].substring(eq + 1)));
            }
            BooleanExpression compiled;
            try {
                compiled = SelectorParser.parse(expr);
            } catch (Throwable t) {
                out.println("P");
                continue;
            }
            EvaluationContext ctx = new EvaluationContext() {
                public Object get(String name) {
                    return props.get(name);
                }

                public Map<String, Object> keyValues() {
                    return new HashMap<>(props);
                }
            };
            Object r;
            try {
                r = compiled.evaluate(ctx);
            } catch (Throwable t) {
                out.println("E");
                continue;
            }
            if (r == null) {
                out.println("N");
            } else if (r instanceof Boolean) {
                out.println(((Boolean) r) ? "T" : "F");
            } else {
                out.println("X");
            }
        }
        out.flush();
    }
}
