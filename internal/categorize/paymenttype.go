package categorize

import (
	"strings"

	"github.com/openbanking-insights/insights"
)

// paymentType is the means of payment (card, direct debit, standing order
// and so on) that a bank transaction code or proprietary code states. It
// carries no direction, because OBIE sends that in CreditDebitIndicator,
// which ingest turns into the amount's sign.
type paymentType int

const (
	payUnknown paymentType = iota
	payCard
	payCashWithdrawal
	payCashDeposit
	payDirectDebit
	payStandingOrder
	payCreditTransfer
	payAutomaticTransfer
	payBookTransfer
	payCheque
	paySalary
	payInterest
	payCharges
	payReversal
	payLoan
	payMortgage
)

// paymentSignal is a paymentType with the name of the rule that found it,
// such as "btc:IssuedDirectDebits" or "proprietary:DirectDebit".
type paymentSignal struct {
	kind paymentType
	rule string
}

// iso20022Names maps ISO 20022 bank transaction family and sub-family names,
// lower-cased without spaces and in the singular, to their four-letter codes.
// UK banks send either form in OBIE BankTransactionCode.
var iso20022Names = map[string]string{
	// Families.
	"receivedcredittransfer": "RCDT", "issuedcredittransfer": "ICDT",
	"receivedrealtimecredittransfer": "RRCT", "issuedrealtimecredittransfer": "IRCT",
	"receiveddirectdebit": "RDDT", "issueddirectdebit": "IDDT",
	"customercardtransaction": "CCRD", "merchantcardtransaction": "MCRD",
	"issuedcheque": "ICHQ", "receivedcheque": "RCHQ", "countertransaction": "CNTR",
	"miscellaneouscreditoperation": "MCOP", "miscellaneousdebitoperation": "MDOP",
	// Sub-families.
	"domesticcredittransfer": "DMCT", "crossbordercredittransfer": "XBCT",
	"sepacredittransfer": "ESCT", "standingorder": "STDO", "automatictransfer": "AUTT",
	"internalbooktransfer": "BOOK", "payrollsalarypayment": "SALA", "salarypayment": "SALA",
	"directdebitpayment": "PMDD", "oneoffdirectdebit": "OODD",
	"cashwithdrawal": "CWDL", "crossbordercashwithdrawal": "XBCW", "branchwithdrawal": "BCWD",
	"cashdeposit": "CDPT", "branchdeposit": "BCDP",
	"pointofsalepayment": "POSD", "pointofsalepaymentdebitcard": "POSD", "smartcardpayment": "SMRT",
	"cheque": "CCHQ", "charge": "CHRG", "fee": "FEES", "commission": "COMM", "interest": "INTR",
	"reversalduetopaymentreturn": "RRTN", "reversalduetopaymentcancellationrequest": "RPCR",
	"reversalduetoreturnunpaiddirectdebit": "UPDD", "reversalduetopaymentreversal": "PRDD",
	// Families of the LDAS (loans, deposits and syndications) domain.
	"consumerloan": "CSLN", "mortgageloan": "MGLN", "fixedtermloan": "FTLN", "noticeloan": "NTLN",
}

// loanFamilies decide the payment type from the family before the
// sub-family, because their sub-families (INTR, PPAY) describe the part of
// the repayment, not what is repaid.
var loanFamilies = map[string]paymentSignal{
	"CSLN": {payLoan, "btc:ConsumerLoans"}, "FTLN": {payLoan, "btc:FixedTermLoans"},
	"NTLN": {payLoan, "btc:NoticeLoans"}, "MGLN": {payMortgage, "btc:MortgageLoans"},
}

// subFamilyTypes decide the payment type from the sub-family alone, whatever
// the family, and name the rule after the sub-family.
var subFamilyTypes = map[string]paymentSignal{
	"CWDL": {payCashWithdrawal, "btc:CashWithdrawal"}, "BCWD": {payCashWithdrawal, "btc:CashWithdrawal"},
	"XBCW": {payCashWithdrawal, "btc:CashWithdrawal"},
	"CDPT": {payCashDeposit, "btc:CashDeposit"}, "BCDP": {payCashDeposit, "btc:BranchDeposit"},
	"INTR": {payInterest, "btc:Interest"},
	"CHRG": {payCharges, "btc:Charges"}, "FEES": {payCharges, "btc:Charges"}, "COMM": {payCharges, "btc:Charges"},
	"RRTN": {payReversal, "btc:Reversal"}, "RPCR": {payReversal, "btc:Reversal"},
	"UPDD": {payReversal, "btc:Reversal"}, "PRDD": {payReversal, "btc:Reversal"},
	"SALA": {paySalary, "btc:SalaryPayment"},
	"STDO": {payStandingOrder, "btc:StandingOrder"},
	"AUTT": {payAutomaticTransfer, "btc:AutomaticTransfer"},
	"BOOK": {payBookTransfer, "btc:InternalBookTransfer"},
	"POSD": {payCard, "btc:CustomerCardTransactions"}, "SMRT": {payCard, "btc:CustomerCardTransactions"},
	"CCHQ": {payCheque, "btc:Cheque"},
}

// familyTypes decide the payment type from the family when the sub-family
// did not.
var familyTypes = map[string]paymentSignal{
	"CCRD": {payCard, "btc:CustomerCardTransactions"}, "MCRD": {payCard, "btc:CustomerCardTransactions"},
	"IDDT": {payDirectDebit, "btc:IssuedDirectDebits"}, "RDDT": {payDirectDebit, "btc:ReceivedDirectDebits"},
	"ICHQ": {payCheque, "btc:IssuedCheques"}, "RCHQ": {payCheque, "btc:ReceivedCheques"},
	"ICDT": {payCreditTransfer, "btc:IssuedCreditTransfers"}, "IRCT": {payCreditTransfer, "btc:IssuedCreditTransfers"},
	"RCDT": {payCreditTransfer, "btc:ReceivedCreditTransfers"}, "RRCT": {payCreditTransfer, "btc:ReceivedCreditTransfers"},
}

// proprietaryTypes map the transaction type codes UK banks send in
// ProprietaryBankTransactionCode, lower-cased and without punctuation.
var proprietaryTypes = map[string]paymentSignal{
	"dd": {payDirectDebit, "proprietary:DirectDebit"}, "ddr": {payDirectDebit, "proprietary:DirectDebit"},
	"directdebit": {payDirectDebit, "proprietary:DirectDebit"},
	"so":          {payStandingOrder, "proprietary:StandingOrder"}, "sto": {payStandingOrder, "proprietary:StandingOrder"},
	"standingorder": {payStandingOrder, "proprietary:StandingOrder"},
	"fpi":           {payCreditTransfer, "proprietary:FasterPayment"}, "fpo": {payCreditTransfer, "proprietary:FasterPayment"},
	"fasterpayment": {payCreditTransfer, "proprietary:FasterPayment"},
	"bgc":           {payCreditTransfer, "proprietary:BankGiroCredit"}, "bankgirocredit": {payCreditTransfer, "proprietary:BankGiroCredit"},
	"bp": {payCreditTransfer, "proprietary:BillPayment"}, "billpayment": {payCreditTransfer, "proprietary:BillPayment"},
	"tfr": {payCreditTransfer, "proprietary:Transfer"}, "transfer": {payCreditTransfer, "proprietary:Transfer"},
	"deb": {payCard, "proprietary:Card"}, "pos": {payCard, "proprietary:Card"}, "cardpayment": {payCard, "proprietary:Card"},
	"debitcard": {payCard, "proprietary:Card"},
	"cpt":       {payCashWithdrawal, "proprietary:CashWithdrawal"}, "atm": {payCashWithdrawal, "proprietary:CashWithdrawal"},
	"cashwithdrawal": {payCashWithdrawal, "proprietary:CashWithdrawal"},
	"dep":            {payCashDeposit, "proprietary:Deposit"}, "cashdeposit": {payCashDeposit, "proprietary:Deposit"},
	"chq": {payCheque, "proprietary:Cheque"}, "cheque": {payCheque, "proprietary:Cheque"},
	"int": {payInterest, "proprietary:Interest"}, "interest": {payInterest, "proprietary:Interest"},
	"chg": {payCharges, "proprietary:Charges"}, "fee": {payCharges, "proprietary:Charges"},
	"fees": {payCharges, "proprietary:Charges"}, "charges": {payCharges, "proprietary:Charges"},
}

// paymentTypeOf reads the bank transaction code first and the proprietary
// code second, and returns payUnknown when neither is recognised.
func paymentTypeOf(t *insights.Transaction) paymentSignal {
	family, subFamily := iso20022Codes(t.BankTransactionCode, t.BankTransactionSubCode)
	if s, ok := loanFamilies[family]; ok {
		return s
	}
	if s, ok := subFamilyTypes[subFamily]; ok {
		return s
	}
	if s, ok := familyTypes[family]; ok {
		return s
	}
	var buf [maxCodeLen]byte
	if s, ok := proprietaryTypes[string(compactKey(buf[:0], t.ProprietaryCode))]; ok {
		return s
	}
	return paymentSignal{kind: payUnknown}
}

// iso20022Codes returns the four-letter family and sub-family codes of an
// OBIE BankTransactionCode. It accepts names ("IssuedDirectDebits",
// "DirectDebitPayment"), codes ("IDDT", "PMDD") and the joined
// domain-family-sub-family form ("PMNT-IDDT-PMDD") in code. The ISO 20022
// domain (PMNT, ACMT, LDAS) is not needed: every family code belongs to one
// domain.
func iso20022Codes(code, subCode string) (family, subFamily string) {
	first, rest, joined := strings.Cut(code, "-")
	if !joined {
		return isoCode(code), isoCode(subCode)
	}
	second, third, three := strings.Cut(rest, "-")
	if three { // domain, family, sub-family
		return isoCode(second), isoCode(third)
	}
	return isoCode(first), isoCode(second)
}

// maxCodeLen bounds the compacted codes looked up; longer inputs are not
// ISO 20022 names and are cut, which makes them miss the tables.
const maxCodeLen = 64

// isoCode returns the four-letter code of an ISO 20022 family or sub-family
// given as a code or a name, singular or plural. It returns "" for a name it
// does not recognise.
func isoCode(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 4 && isUpperASCII(s) {
		return s
	}
	var buf [maxCodeLen]byte
	key := compactKey(buf[:0], s)
	// A map index by string(bytes) does not allocate.
	if c, ok := iso20022Names[string(key)]; ok {
		return c
	}
	if n := len(key); n > 0 && key[n-1] == 's' {
		if c, ok := iso20022Names[string(key[:n-1])]; ok {
			return c
		}
	}
	return ""
}

func isUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// compactKey appends s to dst lower-cased, keeping only ASCII letters and
// digits, up to cap(dst) bytes. Codes and names in OBIE are ASCII.
func compactKey(dst []byte, s string) []byte {
	for i := 0; i < len(s) && len(dst) < cap(dst); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z' || b >= '0' && b <= '9':
			dst = append(dst, b)
		case b >= 'A' && b <= 'Z':
			dst = append(dst, b+'a'-'A')
		}
	}
	return dst
}
