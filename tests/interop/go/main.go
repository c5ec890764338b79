// Command gointerop runs the Go-client (apache/rocketmq-client-go/v2) scenarios against a running
// name server + broker and prints one line per scenario: "PASS <name>" or "FAIL <name>: <reason>".
//
//	gointerop -namesrv 127.0.0.1:9876 -run-id abc [-only REGEX] [-log FILE]
//
// Exit status 0 iff every selected scenario passed.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

const (
	idProp          = "fr_id"
	scenarioTimeout = 60 * time.Second
)

// Body sizes cycled through; several are above the client's 4 KiB compression threshold.
var sizes = []int{1, 17, 128, 1000, 4095, 4096, 4097, 8192, 20000, 50000}

type msgSpec struct {
	topic, id, tags string
	keys            []string
	body            []byte
	props           map[string]string
	// from the SendResult
	msgID       string
	queueID     int
	queueOffset int64
}

func newSpec(topic, id string, index int, tags string, size int) *msgSpec {
	r := rand.New(rand.NewSource(int64(len(id)*7919 + index*104729 + size)))
	body := make([]byte, size)
	if index%3 == 0 {
		pattern := []byte("ferrocket " + id + " line of compressible text; ")
		for i := range body {
			body[i] = pattern[i%len(pattern)]
		}
	} else {
		r.Read(body)
	}
	long := make([]byte, 100+index)
	for i := range long {
		long[i] = byte('a' + i%26)
	}
	return &msgSpec{
		topic: topic, id: id, tags: tags,
		keys: []string{"k-" + id, "alt-" + id},
		body: body,
		props: map[string]string{
			idProp:    id,
			"fr_idx":  fmt.Sprint(index),
			"fr_utf8": fmt.Sprintf("h\u00e9llo w\u00f6rld \u2603 \u65e5\u672c\u8a9e #%d", index),
			"fr_sym":  fmt.Sprintf("a=b;c:d,e/f?g&h=%d {json:\"x\"} [1,2]", index),
			"fr_long": string(long),
		},
	}
}

func (s *msgSpec) message() *primitive.Message {
	m := primitive.NewMessage(s.topic, s.body)
	m.WithTag(s.tags)
	m.WithKeys(s.keys)
	for k, v := range s.props {
		m.WithProperty(k, v)
	}
	return m
}

// diff returns "" when m is a faithful copy of s.
func (s *msgSpec) diff(m *primitive.MessageExt) string {
	var d []string
	if m.Topic != s.topic {
		d = append(d, "topic="+m.Topic)
	}
	if m.GetTags() != s.tags {
		d = append(d, fmt.Sprintf("tags=%q (want %q)", m.GetTags(), s.tags))
	}
	if want := strings.Join(s.keys, " "); m.GetKeys() != want {
		d = append(d, fmt.Sprintf("keys=%q (want %q)", m.GetKeys(), want))
	}
	if !bytes.Equal(m.Body, s.body) {
		d = append(d, fmt.Sprintf("body differs (len %d, want %d)", len(m.Body), len(s.body)))
	}
	keys := make([]string, 0, len(s.props))
	for k := range s.props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got := m.GetProperty(k); got != s.props[k] {
			d = append(d, fmt.Sprintf("property %s=%q (want %q)", k, got, s.props[k]))
		}
	}
	if s.msgID != "" && m.MsgId != s.msgID {
		d = append(d, fmt.Sprintf("msgId=%s (send result said %s)", m.MsgId, s.msgID))
	}
	if s.queueOffset >= 0 && (m.QueueOffset != s.queueOffset || m.Queue.QueueId != s.queueID) {
		d = append(d, fmt.Sprintf("stored at queue %d offset %d (send result said queue %d offset %d)",
			m.Queue.QueueId, m.QueueOffset, s.queueID, s.queueOffset))
	}
	if len(d) == 0 {
		return ""
	}
	return "message " + s.id + ": " + strings.Join(d, ", ")
}

type config struct {
	namesrv, runID string
}

func (c config) name(what string) string { return "fr_go_" + c.runID + "_" + what }

type scenario struct {
	name string
	run  func(config) error
}

func main() {
	var cfg config
	var only, logFile string
	flag.StringVar(&cfg.namesrv, "namesrv", "127.0.0.1:9876", "name server address")
	flag.StringVar(&cfg.runID, "run-id", "", "unique id of this run ([A-Za-z0-9_]+)")
	flag.StringVar(&only, "only", "", "run only scenarios whose full name matches this regex")
	flag.StringVar(&logFile, "log", "", "client log file (default: stderr)")
	flag.Parse()
	if cfg.runID == "" {
		cfg.runID = fmt.Sprint(time.Now().Unix())
	}
	rlog.SetLogLevel("warn")
	if logFile != "" {
		if err := rlog.SetOutputPath(logFile); err != nil {
			fmt.Fprintln(os.Stderr, "cannot log to", logFile, err)
		}
	}
	fmt.Printf("# go client %s, namesrv %s, run %s\n", clientVersion(), cfg.namesrv, cfg.runID)

	scenarios := []scenario{
		{"go-client/producer-push-roundtrip", roundTrip},
	}
	var onlyRe *regexp.Regexp
	if only != "" {
		onlyRe = regexp.MustCompile(only)
	}
	failed := 0
	for _, s := range scenarios {
		if onlyRe != nil && !onlyRe.MatchString(s.name) {
			continue
		}
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			defer func() {
				if r := recover(); r != nil {
					done <- fmt.Errorf("panic: %v", r)
				}
			}()
			done <- s.run(cfg)
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(scenarioTimeout):
			err = fmt.Errorf("timed out after %s", scenarioTimeout)
		}
		if err == nil {
			fmt.Printf("PASS %s\n", s.name)
		} else {
			failed++
			fmt.Printf("FAIL %s: %s\n", s.name, strings.ReplaceAll(err.Error(), "\n", " | "))
		}
		fmt.Printf("# %s took %d ms\n", s.name, time.Since(start).Milliseconds())
	}
	if failed > 0 {
		os.Exit(1)
	}
	os.Exit(0)
}

func clientVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/apache/rocketmq-client-go/v2" {
				return d.Version
			}
		}
	}
	return "unknown"
}

// roundTrip: SendSync with tags/keys/properties/binary bodies, then a clustering push consumer with
// a tag expression receives exactly the matching messages, each once and byte-for-byte intact.
func roundTrip(cfg config) error {
	topic := cfg.name("rt")
	ns := primitive.NewPassthroughResolver([]string{cfg.namesrv})
	p, err := rocketmq.NewProducer(
		producer.WithNsResolver(ns),
		producer.WithGroupName(cfg.name("rt_pg")),
		producer.WithInstanceName(cfg.name("rt_pi")),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(5*time.Second),
	)
	if err != nil {
		return fmt.Errorf("new producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return fmt.Errorf("producer start: %w", err)
	}
	defer p.Shutdown()

	tags := []string{"TagA", "TagB", "TagC"}
	var all []*msgSpec
	want := map[string]*msgSpec{}
	for i := 0; i < 24; i++ {
		s := newSpec(topic, fmt.Sprintf("go-%d", i), i, tags[i%len(tags)], sizes[i%len(sizes)])
		all = append(all, s)
		if s.tags != "TagC" {
			want[s.id] = s
		}
	}
	for _, s := range all {
		res, err := p.SendSync(context.Background(), s.message())
		if err != nil {
			return fmt.Errorf("send %s: %w", s.id, err)
		}
		if res.Status != primitive.SendOK || res.MsgID == "" || res.OffsetMsgID == "" || res.MessageQueue == nil {
			return fmt.Errorf("send %s: unexpected result %s", s.id, res)
		}
		s.msgID, s.queueID, s.queueOffset = res.MsgID, res.MessageQueue.QueueId, res.QueueOffset
	}

	var mu sync.Mutex
	counts := map[string]int{}
	var problems []string
	handler := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			id := m.GetProperty(idProp)
			s, ok := want[id]
			if !ok {
				if len(problems) < 5 {
					problems = append(problems, fmt.Sprintf("unexpected message id=%q tags=%q", id, m.GetTags()))
				}
				continue
			}
			counts[id]++
			if counts[id] == 1 {
				if d := s.diff(m); d != "" && len(problems) < 5 {
					problems = append(problems, d)
				}
			}
		}
		return consumer.ConsumeSuccess, nil
	}

	// The route of an auto-created topic reaches the name server asynchronously: a push consumer
	// refuses to start until it exists, so retry for a while.
	var c rocketmq.PushConsumer
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err = rocketmq.NewPushConsumer(
			consumer.WithNsResolver(ns),
			consumer.WithGroupName(cfg.name("rt_cg")),
			consumer.WithInstance(cfg.name("rt_ci")),
			consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
			consumer.WithConsumerModel(consumer.Clustering),
		)
		if err != nil {
			return fmt.Errorf("new push consumer: %w", err)
		}
		err = c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "TagA || TagB"}, handler)
		if err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		if err = c.Start(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("push consumer start: %w", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	defer shutdownWithin(c.Shutdown, 10*time.Second)

	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(counts)
	}
	deadline = time.Now().Add(30 * time.Second)
	for received() < len(want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // room for duplicates / filtered messages to show up

	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	if len(counts) != len(want) {
		var missing []string
		for id := range want {
			if counts[id] == 0 {
				missing = append(missing, id)
			}
		}
		sort.Strings(missing)
		if len(missing) > 5 {
			missing = missing[:5]
		}
		return fmt.Errorf("received %d of %d messages, missing e.g. %v", len(counts), len(want), missing)
	}
	dups := 0
	for _, n := range counts {
		dups += n - 1
	}
	if dups > 0 {
		return fmt.Errorf("%d duplicate deliveries", dups)
	}
	return nil
}

func shutdownWithin(f func() error, d time.Duration) {
	done := make(chan struct{})
	go func() {
		_ = f()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}
