// Package obie holds the wire types of the UK Open Banking (OBIE) Account and
// Transaction API, v3.1 and v4.0, for the Account, Balance, Transaction and
// Party resources. It decodes files of them and validates every record,
// locating each problem by file, line and JSON path.
//
// Both versions decode into the same types: v4.0 renames AccountType and
// AccountSubType to AccountCategory and AccountTypeCode and replaces code
// names with ISO codes (Status BOOK/PDNG/RJCT/FUTR/INFO, balance Type
// ITAV/CLBD/...). The conversion to domain types maps both onto one
// vocabulary. The accepted file formats are described in
// docs/feed-formats.md.
package obie
