// Package yamlconf is the one strict, bounded YAML decoder behind every imsphone configuration
// file (accounts, the BSF, the KMS and its policy). A configuration file is small, written by
// hand, and may come from someone else, so before anything is decoded a file is refused when it
//
//   - is larger than Limits.MaxBytes, or holds more than one YAML document;
//   - uses an alias (YAML 1.2 §3.2.2.2, "*name" referring to an "&name" anchor): aliases let a
//     few hundred octets expand into gigabytes ("billion laughs"), and no configuration needs
//     them; the YAML 1.1 merge key "<<" (not part of YAML 1.2) goes with them;
//   - repeats a key in one mapping: YAML 1.2 §3.2.1.1 requires the keys of a mapping to be
//     unique, and a repeated key silently overriding the first is how a misedited file loses a
//     setting. yaml.v3 checks this pairwise (quadratic, and with an error string per pair: seconds
//     on a file of 4000 equal keys), so it is done here with a map, first;
//   - has a mapping key that is not a scalar, a mapping with more than MaxMappingKeys keys, a
//     list with more than MaxSequence entries, or more than MaxNodes nodes in all.
//
// Unknown keys are errors (a misspelt field never silently falls back to a default), and every
// error is an *Error naming the file, line and, where known, field: "kms.yaml:7: store.path: ...".
//
// A parser reads with ReadFile (bounded), decodes with Decode into its schema struct, then checks
// values and reports each problem with Doc.Errorf("section.field", ...), which finds the line;
// an UnmarshalYAML method that takes a mapping decodes it with DecodeNode. Example shows the
// pattern; internal/cli (accounts), gba/bsf, keymgmt/kms/policy and cmd/kms use it.
package yamlconf
