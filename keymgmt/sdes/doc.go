// Package sdes implements SDP Security Descriptions for media streams (SDES, RFC 4568): the
// a=crypto attribute that carries SRTP master keys inline in SDP, for the TS 33.328 e2ae and
// e2e SDES options.
//
// What it covers:
//   - The attribute grammar of RFC 4568 §9.1 and the SRTP grammar of §9.2: tag, crypto-suite,
//     key-params ("inline:" key||salt ["|" lifetime] ["|" MKI ":" length], several separated
//     by ";") and session parameters (§6.3: KDR, UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP,
//     UNAUTHENTICATED_SRTP, FEC_ORDER, FEC_KEY, WSH; unknown ones are kept, and §6.3.7 decides
//     whether they block negotiation). [Crypto] parses and marshals one attribute value.
//   - The SRTP crypto suites: RFC 4568 §6.2 (AES_CM_128_HMAC_SHA1_80/_32, F8_128_HMAC_SHA1_80),
//     RFC 6188 §4 and §5 (AES_192_CM_* and AES_256_CM_*, with the §7.2 test key as a known
//     answer in the tests; the non-standard spelling
//     AES_CM_256_* that some peers send is accepted, the RFC 6188 spelling is emitted) and
//     RFC 7714 §12 and §14.2 (AEAD_AES_128_GCM, AEAD_AES_256_GCM: 96-bit salt, 16-octet tag).
//     [Suites] maps each to its pion/srtp/v2 protection profile; AES-192 and F8 parse but
//     pion cannot run them, so they are never selected.
//   - Offer/answer for SRTP (RFC 4568 §7.1): [NewOffer] builds the offer, [Answer] selects one
//     offered line and generates the answerer's own key (§7.1.2: the keys of the two
//     directions differ), [AcceptAnswer] checks the answer at the offerer (§7.1.3). The
//     outcome per direction is a [Keys] value for the media layer.
//
// Local policy on top of RFC 4568: SRTP authentication is mandatory (UNAUTHENTICATED_SRTP is
// refused; SRTCP is always authenticated, RFC 3711 §3.4), a key derivation rate other than 0
// is refused because pion/srtp/v2 derives session keys once only, FEC_KEY is refused (no FEC),
// and unencrypted SRTP or SRTCP is accepted only when the [Policy] allows it.
//
// Key material never appears in String, GoString, LogValue or error output: [Crypto.String]
// and [Keys.String] redact it; only [Crypto.Marshal] writes it, for the SDP body.
package sdes
