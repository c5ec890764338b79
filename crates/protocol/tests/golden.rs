//! Frames captured from the official Java (5.3.3, 4.9.8) and Go clients and mqadmin (see
//! `fixtures/README.md`): each decodes, carries what the broker relies on, and survives a
//! re-encode unchanged.

use bytes::BytesMut;
use ferrocket_protocol::body::{decode_json, HeartbeatData};
use ferrocket_protocol::header::{
    ConsumerGroupRequestHeader, CreateTopicRequestHeader, GetRouteInfoRequestHeader,
    PullMessageRequestHeader, QueryConsumerOffsetRequestHeader, SendMessageRequestHeader,
    TopicRequestHeader, UnregisterClientRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use ferrocket_protocol::message::{decode_batch, find_property, java_string_hash, property};
use ferrocket_protocol::{LanguageCode, RemotingCommand, SerializeType};

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "bin"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn decode(bytes: &[u8]) -> RemotingCommand {
    let mut buf = BytesMut::from(bytes);
    let cmd = RemotingCommand::decode_frame(&mut buf)
        .unwrap()
        .expect("a whole frame");
    assert!(buf.is_empty(), "exactly one frame");
    cmd
}

#[test]
fn every_fixture_decodes_and_round_trips() {
    let all = fixtures();
    assert!(all.len() >= 25, "fixtures missing: {}", all.len());
    for (name, bytes) in &all {
        let cmd = decode(bytes);
        let code: i32 = name
            .trim_end_matches(".bin")
            .rsplit('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(cmd.code, code, "{name}");
        assert!(!cmd.is_response() && cmd.opaque >= 0, "{name}");
        let (lang, version) = if name.starts_with("go-") {
            (LanguageCode::Go, 317)
        } else if name.starts_with("java-4.9.8") {
            (LanguageCode::Java, 409)
        } else {
            (LanguageCode::Java, 479)
        };
        assert_eq!((cmd.language, cmd.version), (lang, version), "{name}");
        let ser = if name.contains("-rocketmq-") {
            SerializeType::RocketMq
        } else {
            SerializeType::Json
        };
        assert_eq!(cmd.serialize_type, ser, "{name}");
        // Re-encoding gives a frame that decodes to the same command.
        let mut again = BytesMut::new();
        cmd.encode_frame(&mut again);
        assert_eq!(decode(&again), cmd, "{name}");
        check_semantics(name, &cmd);
    }
}

fn check_semantics(name: &str, cmd: &RemotingCommand) {
    match cmd.code {
        10 | 310 => {
            let h: SendMessageRequestHeader = cmd.decode_header().unwrap();
            assert!(h.topic.starts_with("fr_"), "{name}: {}", h.topic);
            assert_eq!(h.default_topic.as_deref(), Some("TBW102"), "{name}");
            let props = h.properties.clone().unwrap();
            assert!(
                find_property(&props, property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).is_some(),
                "{name}"
            );
            assert!(!cmd.body.is_empty());
            if cmd.body.len() > 4096 {
                assert_eq!(
                    h.sys_flag.unwrap() & 1,
                    1,
                    "{name}: big bodies arrive compressed"
                );
            }
            if cmd.code == 10 {
                assert!(
                    cmd.ext("producerGroup").is_some(),
                    "{name}: code 10 uses the long names"
                );
            } else {
                assert!(
                    cmd.ext("a").is_some(),
                    "{name}: code 310 uses the short names"
                );
            }
        }
        320 => {
            let h: SendMessageRequestHeader = cmd.decode_header().unwrap();
            assert!(h.batch, "{name}");
            let entries = decode_batch(&cmd.body).unwrap();
            assert!(entries.len() > 1, "{name}");
            for e in &entries {
                assert!(
                    find_property(&e.properties, property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).is_some()
                );
                assert!(find_property(&e.properties, "fr_id").is_some());
            }
        }
        34 => {
            let hb: HeartbeatData = decode_json(&cmd.body).unwrap();
            assert!(!hb.client_id.is_empty());
            let consumer = &hb.consumer_data_set[0];
            assert!(!consumer.group_name.is_empty());
            for sub in &consumer.subscription_data_set {
                let codes: std::collections::BTreeSet<i32> =
                    sub.tags_set.iter().map(|t| java_string_hash(t)).collect();
                assert_eq!(sub.code_set, codes, "{name}: codeSet = hashes of tagsSet");
            }
        }
        11 | 361 => {
            let h: PullMessageRequestHeader = cmd.decode_header().unwrap();
            assert!(h.max_msg_nums > 0);
            if cmd.code == 361 {
                assert_eq!(h.sys_flag & 0x10, 0x10, "{name}: lite pull flag");
                assert!(h.subscription.is_some());
            } else {
                assert_eq!(h.sys_flag & 0x2, 0x2, "{name}: push consumers suspend");
            }
        }
        105 => {
            let h: GetRouteInfoRequestHeader = cmd.decode_header().unwrap();
            assert!(!h.topic.is_empty());
        }
        14 => drop(
            cmd.decode_header::<QueryConsumerOffsetRequestHeader>()
                .unwrap(),
        ),
        15 => drop(
            cmd.decode_header::<UpdateConsumerOffsetRequestHeader>()
                .unwrap(),
        ),
        38 => drop(cmd.decode_header::<ConsumerGroupRequestHeader>().unwrap()),
        35 => drop(
            cmd.decode_header::<UnregisterClientRequestHeader>()
                .unwrap(),
        ),
        202 => drop(cmd.decode_header::<TopicRequestHeader>().unwrap()),
        17 => {
            let h: CreateTopicRequestHeader = cmd.decode_header().unwrap();
            assert_eq!(
                (h.read_queue_nums, h.write_queue_nums, h.perm),
                (4, 4, 6),
                "{name}"
            );
        }
        28 | 106 | 206 => assert!(
            cmd.ext_fields.is_empty() || name.contains("rocketmq"),
            "{name}"
        ),
        other => panic!("{name}: no check for code {other}"),
    }
}
