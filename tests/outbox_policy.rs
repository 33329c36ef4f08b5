//! The outbox policy (`engine::outbox`): batching by count and bytes, full-jitter backoff,
//! Retry-After, classification of answers, settlement of per-event results, 24 h give-up.

use tailor::engine::json::Value;
use tailor::engine::outbox::*;
use tailor::engine::wire::EventBatch;

const NOW: f64 = 1_800_000_000_000.0;

fn items(n: usize, bytes: usize) -> Vec<Item> {
    (0..n).map(|i| Item { ts: Some(NOW - 1000.0 + i as f64), bytes }).collect()
}

#[test]
fn a_batch_holds_at_most_100_events() {
    let plan = plan_batch(&items(250, 300), NOW, MAX_BATCH_EVENTS, MAX_BATCH_BYTES, true);
    assert_eq!(plan.send, (0..100).collect::<Vec<_>>());
    assert!(plan.expired.is_empty() && plan.invalid.is_empty());
}

#[test]
fn a_batch_holds_at_most_500_kb() {
    // Real 30 KB event texts: 16 fit in 500 KB with the envelope, the 17th does not.
    let texts: Vec<String> = (0..40).map(|i| event_text(i, 30 * 1024)).collect();
    let list: Vec<Item> = texts.iter().map(|t| Item { ts: Some(NOW), bytes: t.len() }).collect();
    let plan = plan_batch(&list, NOW, MAX_BATCH_EVENTS, MAX_BATCH_BYTES, true);
    assert_eq!(plan.send, (0..16).collect::<Vec<_>>());
    // The body actually built from the planned events (with the longest site name the
    // envelope allows for) is within the limit, and is a batch of exactly those events ...
    let site = "s".repeat(64);
    let body = batch_body(&site, NOW, plan.send.iter().map(|&i| texts[i].as_str()));
    assert!(body.len() <= MAX_BATCH_BYTES, "{} bytes", body.len());
    let batch = EventBatch::from_value(&Value::parse(&body).unwrap()).unwrap();
    assert_eq!(batch.events.len(), 16);
    // ... and the same body with the next event would not be.
    let over = batch_body(&site, NOW, (0..17).map(|i| texts[i].as_str()));
    assert!(over.len() > MAX_BATCH_BYTES, "{} bytes", over.len());
}

/// An event in wire form exactly `len` bytes long.
fn event_text(i: usize, len: usize) -> String {
    let head = format!(r#"{{"id":"e{i:04}","type":"page_view","ts":{},"props":{{"pad":""#, NOW as i64);
    let tail = r#""}}"#;
    let text = format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()));
    assert_eq!(text.len(), len);
    text
}

#[test]
fn a_beacon_stays_under_60_kb_and_skips_what_cannot_fit() {
    let mut list = items(10, 10 * 1024);
    list.insert(0, Item { ts: Some(NOW), bytes: 70 * 1024 });
    let plan = plan_batch(&list, NOW, MAX_BATCH_EVENTS, MAX_BEACON_BYTES, false);
    assert_eq!(plan.send, vec![1, 2, 3, 4, 5]);
    // A normal flush sends the large one alone rather than never.
    let plan = plan_batch(&list, NOW, MAX_BATCH_EVENTS, 50 * 1024, true);
    assert_eq!(plan.send, vec![0]);
}

#[test]
fn events_older_than_24_hours_are_given_up_and_unreadable_ones_set_aside() {
    let list = vec![
        Item { ts: Some(NOW - MAX_EVENT_AGE_MS - 1.0), bytes: 10 },
        Item { ts: None, bytes: 10 },
        Item { ts: Some(NOW - MAX_EVENT_AGE_MS + 1.0), bytes: 10 },
        Item { ts: Some(NOW), bytes: 10 },
    ];
    let plan = plan_batch(&list, NOW, MAX_BATCH_EVENTS, MAX_BATCH_BYTES, true);
    assert_eq!(plan.expired, vec![0]);
    assert_eq!(plan.invalid, vec![1]);
    assert_eq!(plan.send, vec![2, 3]);
}

#[test]
fn the_body_is_a_valid_batch_with_the_events_untouched() {
    let events = [r#"{"id":"a","type":"page_view","ts":1,"props":{"x":"é\n"}}"#, r#"{"id":"b"}"#];
    let body = batch_body("shop", NOW + 0.7, events.iter().copied());
    let batch = EventBatch::from_value(&Value::parse(&body).unwrap()).unwrap();
    assert_eq!(batch.site.as_deref(), Some("shop"));
    assert_eq!(batch.sent_at, Some(NOW as i64));
    assert_eq!(batch.events.len(), 2);
    assert_eq!(batch.events[0].to_json(), events[0]);
    assert!(body.len() <= BATCH_OVERHEAD_BYTES + events.iter().map(|e| e.len() + 1).sum::<usize>());
}

#[test]
fn backoff_is_full_jitter_doubling_from_1_s_to_5_min() {
    assert_eq!(backoff_delay(1, 0.0, None), 0.0);
    assert_eq!(backoff_delay(1, 0.999_999, None).round(), 1000.0);
    assert_eq!(backoff_delay(2, 0.5, None), 1000.0);
    assert_eq!(backoff_delay(4, 0.5, None), 4000.0);
    assert_eq!(backoff_delay(9, 1.0, None), 256_000.0);
    for attempt in [10, 11, 40, u32::MAX] {
        assert_eq!(backoff_delay(attempt, 1.0, None), BACKOFF_MAX_MS, "attempt {attempt}");
    }
    // Bad randomness never gives a negative or infinite delay.
    assert_eq!(backoff_delay(3, f64::NAN, None), 2000.0);
    assert_eq!(backoff_delay(3, -4.0, None), 0.0);
}

#[test]
fn retry_after_is_a_lower_bound() {
    assert_eq!(backoff_delay(1, 0.1, Some(30_000.0)), 30_000.0);
    assert_eq!(backoff_delay(12, 0.9, Some(1000.0)), 0.9 * BACKOFF_MAX_MS);
    // Longer than the cap when the server asks for it.
    assert_eq!(backoff_delay(1, 0.5, Some(600_000.0)), 600_000.0);
}

#[test]
fn backoff_state_waits_then_resets_after_success() {
    let mut b = Backoff::default();
    assert!(b.ready(NOW));
    let d1 = b.failed(NOW, 1.0, None);
    assert_eq!(d1, 1000.0);
    assert!(!b.ready(NOW + 999.0));
    assert!(b.ready(NOW + 1000.0));
    let d2 = b.failed(NOW, 1.0, None);
    assert_eq!(d2, 2000.0);
    assert_eq!(b.failures, 2);
    b.succeeded();
    assert_eq!(b, Backoff::default());
}

#[test]
fn retry_after_parses_seconds_and_http_dates() {
    assert_eq!(parse_retry_after("120", NOW), Some(120_000.0));
    assert_eq!(parse_retry_after(" 0 ", NOW), Some(0.0));
    // 2015-10-21T07:28:00Z = 1445412480000 ms.
    let at = 1_445_412_480_000.0;
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at - 5000.0), Some(5000.0));
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at + 5000.0), Some(0.0));
    assert_eq!(parse_retry_after("Sun, 29 Feb 2032 23:59:59 GMT", 0.0), Some(1_961_711_999_000.0));
    for bad in ["", "soon", "-5", "1.5", "Wed, 21 Foo 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 CET"] {
        assert_eq!(parse_retry_after(bad, NOW), None, "{bad:?}");
    }
}

#[test]
fn answers_are_classified() {
    for s in [200, 201, 204] {
        assert_eq!(classify(s), Outcome::Done, "{s}");
    }
    for s in [0, 408, 425, 429, 500, 502, 503, 504, 302] {
        assert_eq!(classify(s), Outcome::Retry, "{s}");
    }
    for s in [400, 401, 403, 404, 413, 422] {
        assert_eq!(classify(s), Outcome::Refused, "{s}");
    }
}

#[test]
fn results_settle_each_event_by_id() {
    let body = r#"{"receivedAt":1,"accepted":1,"duplicates":1,"rejected":1,"results":[
        {"id":"a","status":"accepted","ts":1},{"id":"c","status":"rejected","reason":"x"},
        {"id":"b","status":"duplicate"}]}"#;
    let s = settle(&["a", "b", "c", "d"], body);
    assert_eq!(s.done, vec!["a", "b"]);
    assert_eq!(s.rejected, vec!["c"]);
    assert_eq!(s.unanswered, vec!["d"]);
}

#[test]
fn an_unreadable_answer_settles_nothing() {
    for body in ["", "<html>", r#"{"results":"no"}"#] {
        let s = settle(&["a", "b"], body);
        assert_eq!(s.unanswered, vec!["a", "b"], "{body}");
        assert!(s.done.is_empty() && s.rejected.is_empty());
    }
}

#[test]
fn reports_add_up() {
    let mut total = FlushReport::default();
    total.add(&FlushReport { sent: 3, failed: 1, dead_lettered: 1, given_up: 2, pending: 9 });
    total.add(&FlushReport { sent: 2, failed: 0, dead_lettered: 0, given_up: 0, pending: 4 });
    assert_eq!(total, FlushReport { sent: 5, failed: 1, dead_lettered: 1, given_up: 2, pending: 4 });
}

// --- One record per burst -----------------------------------------------------------------

fn record(ids: std::ops::Range<usize>) -> String {
    ids.map(|i| event_text(i, 80)).collect::<Vec<_>>().join("\n")
}

#[test]
fn records_are_read_as_their_events_in_order() {
    // An old one-event record, a burst of 3, another old record.
    let texts = vec![record(0..1), record(1..4), record(4..5)];
    let r = Records::new(&texts, MAX_BATCH_EVENTS);
    let seen: Vec<(usize, usize, &str)> = r.events.iter().map(|e| (e.record, e.line, e.text)).collect();
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().map(|e| (e.0, e.1)).collect::<Vec<_>>(), [(0, 0), (1, 0), (1, 1), (1, 2), (2, 0)]);
    for (i, e) in seen.iter().enumerate() {
        assert_eq!(e.2, event_text(i, 80), "event {i} read whole, in call order");
    }
    assert_eq!(texts.iter().map(|t| events_in(t)).collect::<Vec<_>>(), [1, 3, 1]);
}

#[test]
fn a_large_burst_is_read_up_to_the_batch_limit() {
    let texts = vec![record(0..250), record(250..251)];
    let r = Records::new(&texts, MAX_BATCH_EVENTS);
    assert_eq!(r.events.len(), MAX_BATCH_EVENTS);
    assert!(r.events.iter().all(|e| e.record == 0));
    // Sending the 100 read leaves the 150 not read in the record, in order.
    let gone: Vec<usize> = (0..100).collect();
    assert_eq!(r.without(&gone), [Rewrite { record: 0, text: Some(record(100..250)) }]);
}

#[test]
fn a_partial_acknowledgement_leaves_exactly_the_unacked_events() {
    let texts = vec![record(0..4), record(4..6), record(6..7)];
    let r = Records::new(&texts, MAX_BATCH_EVENTS);
    // Acked: events 0, 2 (of the first record), both of the second; 1, 3 and 6 unanswered.
    let rewrites = r.without(&[0, 2, 4, 5]);
    let kept = [event_text(1, 80), event_text(3, 80)].join("\n");
    assert_eq!(rewrites, [Rewrite { record: 0, text: Some(kept) }, Rewrite { record: 1, text: None }]);
    // Nothing settled: nothing rewritten.
    assert!(r.without(&[]).is_empty());
    // Indices out of range (never produced by a plan) change nothing.
    assert!(r.without(&[99]).is_empty());
}

#[test]
fn a_damaged_record_with_empty_lines_is_read_around_them() {
    let texts = vec![String::from("\n") + &event_text(0, 80) + "\n\n" + &event_text(1, 80)];
    let r = Records::new(&texts, MAX_BATCH_EVENTS);
    assert_eq!(r.events.len(), 2);
    assert_eq!(events_in(&texts[0]), 2);
    assert_eq!(r.without(&[0]), [Rewrite { record: 0, text: Some(event_text(1, 80)) }]);
    assert_eq!(r.without(&[0, 1]), [Rewrite { record: 0, text: None }]);
    // A record with no event at all is listed to be deleted; one cut off by the limit is not.
    let texts = vec![record(0..2), String::new(), record(2..5)];
    assert_eq!(Records::new(&texts, MAX_BATCH_EVENTS).empty, [1]);
    assert_eq!(Records::new(&texts, 3).empty, [1]);
    assert!(Records::new(&texts, 2).empty.is_empty());
}
