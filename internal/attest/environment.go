package attest

// EnvironmentClaim is the payload member naming the environment of the
// client a token was issued to. Only tokens of sandbox clients carry it,
// with the value "sandbox"; they rest on demo data. It is a plain member in
// both forms, so an SD-JWT holder cannot leave it out of a presentation.
const EnvironmentClaim = "env"
