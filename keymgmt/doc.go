// Package keymgmt is the key-management boundary of imsphone's user agent: it turns the
// key-management lines of an SDP offer or answer into SRTP parameters for each direction, and
// the other way round, under a per-account security policy.
//
// The UA calls a Negotiator at three points of RFC 3264 offer/answer:
//   - Offer: the lines to add to an offer (and whether the m-line is RTP/SAVP);
//   - Answer: process a received offer, giving the answer's lines and the keys;
//   - PendingOffer.Accept: process the answer at the offerer, giving the keys.
//
// Each outcome is a Keys value: the method and suite, and per direction (RFC 3711 §3.2) the
// protection profile, master key and salt, MKI (§3.1), initial ROC (§3.3.1), the SSRC where key
// management names it (RFC 3830 §6.1.1 CS ID map) and whether SRTP and SRTCP are encrypted.
//
// Methods (the Method interface):
//   - SDES, RFC 4568 a=crypto lines (§7 offer/answer), through package keymgmt/sdes, with several
//     suites in preference order; with Policy.E2AE the offer also carries a=3ge2ae:requested for
//     the 3GPP TS 33.328 e2ae mode (the attribute as used by TS 24.229 implementations; its
//     exact 3GPP text was not verified).
//   - MIKEY-TICKET through a KMS (RFC 6043, TS 33.328 KMS-based e2e): plugs in as a Method named
//     "mikey" that reads and writes a=key-mgmt:mikey lines (RFC 4567 §3: session or media level,
//     the media level overriding) carrying TRANSFER_INIT in the offer and TRANSFER_RESP in the
//     answer (RFC 6043 §7). KeyMgmtValues applies RFC 4567's level rule for it. MIKEY
//     (mikey.go, NewMIKEY) is that method over the UE's KMS client (keymgmt/kms): media-level
//     lines, one TGK and two crypto sessions, one per sender SSRC (RFC 3830 §4.1.3, RFC 6043
//     §5.1.3, §6.1.1); a "kms" policy without a method is refused by New.
//
// Policy (per account): mode none, sdes or kms, each mandatory or preferred. A failed policy or
// key-management check is an *Error carrying the SIP status (488, RFC 3261 §21.4.26) and the
// Warning code (399 miscellaneous, or 306 attribute not understood, RFC 3261 §20.43) that
// RFC 4567 §3.1 and RFC 4568 §7.1.2 ask for.
//
// SDES puts the master key in the clear into the SDP, so RFC 4568 §8.3 asks for encrypted
// signalling: an SDES offer or answer is made only when Stream.SecureSignalling says the SDP
// travels over TLS, or the policy says AllowSDESWithoutTLS. Otherwise a mandatory SDES offer
// fails with ErrSDESWithoutTLS, a preferred one is made plain (Offer.Fallback says why), and an
// a=crypto offer is refused with 488 (an RTP/SAVP offer cannot be answered plain, RFC 3264 §6).
//
// Keys never appear in String, GoString, LogValue or error output.
package keymgmt
