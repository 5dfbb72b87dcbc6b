// Package codec holds the audio codecs imsphone puts into RTP and the RFC 4733 telephone-event
// payload.
//
// Implemented:
//   - ITU-T G.711 (11/88) µ-law (PCMU, static payload type 0) and A-law (PCMA, payload type 8),
//     8000 Hz mono, one octet per sample, as registered in RFC 3551 §4.5.14 and Table 4.
//   - RFC 4733 §2.3 telephone-event payload (Event), the sender rules of §2.5.1 (DTMFSender:
//     one RTP timestamp per event, marker on the first packet, growing duration, the end packet
//     sent three times, §2.5.1.4) and the receiver rules of §2.5.2 (DTMFReceiver: one digit per
//     event timestamp however many packets repeat it). Event codes are those of §3.2.
//
// Further codecs (AMR-WB, G.722, Opus) implement the Codec interface and are added to a Registry;
// nothing else in the media path depends on G.711.
package codec
