package policy

// examplePolicy is the policy the tests decide with.
const examplePolicy = `
version: 1
users:
  - impi: alice@ims.example
    impus: [sip:alice@ims.example, tel:+15551230001]
    groups: [staff]
  - impi: bob@ims.example
    impus: [sip:bob@ims.example]
    groups: [staff]
  - impi: carol@ims.example
    impus: [sip:carol@ims.example]
  - impi: eve@ims.example
    impus: [sip:eve@ims.example]
    groups: [blocked]
groups:
  staff: ["sip:*@staff.ims.example"]
  partners: ["sip:*@partner.example"]
defaults:
  max_validity: 8h
  features: [reuse]
request:
  - name: blocked-nothing
    from: [group:blocked]
    to: ["sip:nobody@invalid"]
  - name: staff-internal
    from: [group:staff]
    to: [group:staff]
    max_validity: 1h
    features: [reuse, forking, initiator_keys, responder_keys]
  - name: staff-partners
    from: [group:staff]
    to: [group:partners]
    max_validity: 30m
    features: [forking]
  - name: anyone-to-helpdesk
    from: ["*"]
    to: ["sip:helpdesk@ims.example"]
resolve:
  - name: staff-resolve
    who: [group:staff]
    of: ["*"]
  - name: helpdesk-resolves-customers
    who: ["sip:helpdesk@ims.example"]
    of: ["sip:*@ims.example"]
`
