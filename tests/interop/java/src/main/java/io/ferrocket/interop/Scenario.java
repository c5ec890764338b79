package io.ferrocket.interop;

/** One named check. A scenario body throws {@link Failure} (or anything else) to fail. */
final class Scenario {
    static final String SILENT = "\u0000silent";

    interface Body {
        void run() throws Exception;
    }

    final String name;
    final int phase;
    final Body body;

    Scenario(String name, int phase, Body body) {
        this.name = name;
        this.phase = phase;
        this.body = body;
    }

    /** A scenario's assertion failed; the message is the reason printed after "FAIL name: ". */
    static final class Failure extends RuntimeException {
        Failure(String message) {
            super(message, null, false, false);
        }
    }

    /** Thrown by phase 2 of a scenario when phase 1 already reported the failure. */
    static final class SilentSkip extends RuntimeException {
        SilentSkip() {
            super(null, null, false, false);
        }
    }

    static void check(boolean ok, String reason) {
        if (!ok) {
            throw new Failure(reason);
        }
    }

    static Failure fail(String reason) {
        return new Failure(reason);
    }
}
