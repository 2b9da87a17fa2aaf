package categorize

import (
	"fmt"
	"testing"

	"github.com/openbanking-insights/insights"
)

func amount(s string) insights.Amount {
	a, err := insights.ParseSignedAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// tx builds a transaction of the given signed amount; the fields not given
// stay empty, as when the bank omits them.
type tx struct {
	amount, counterparty, description, mcc, code, subCode, proprietary string
}

func (x tx) transaction() insights.Transaction {
	return insights.Transaction{
		Status:                 insights.StatusBooked,
		Amount:                 amount(x.amount),
		Currency:               "GBP",
		Counterparty:           x.counterparty,
		Description:            x.description,
		MCC:                    x.mcc,
		BankTransactionCode:    x.code,
		BankTransactionSubCode: x.subCode,
		ProprietaryCode:        x.proprietary,
	}
}

func TestCategorize_rules(t *testing.T) {
	cases := []struct {
		name     string
		tx       tx
		wantCat  insights.Category
		wantRule string
	}{
		// Card payments: the MCC beats every other signal.
		{"mcc groceries", tx{amount: "-42.10", counterparty: "TESCO STORES 3297", mcc: "5411",
			code: "CustomerCardTransactions", subCode: "PointOfSalePayment"}, insights.CategoryGroceries, "mcc:5411"},
		{"mcc fast food", tx{amount: "-6.49", counterparty: "MCDONALDS", mcc: "5814"}, insights.CategoryEatingOut, "mcc:5814"},
		{"mcc beats landlord word", tx{amount: "-18.00", counterparty: "THE LANDLORD", description: "RENT A ROUND",
			mcc: "5813", code: "PMNT-CCRD-POSD"}, insights.CategoryEatingOut, "mcc:5813"},
		{"mcc range clothing", tx{amount: "-30.00", counterparty: "SOME SHOP", mcc: "5651"}, insights.CategoryShopping, "mcc:5651"},
		{"mcc code inside range", tx{amount: "-30.00", counterparty: "DIRECT INSURER", mcc: "5960"}, insights.CategoryInsurance, "mcc:5960"},
		{"mcc fuel", tx{amount: "-60.00", counterparty: "SHELL", mcc: "5542"}, insights.CategoryTransport, "mcc:5542"},
		{"mcc gambling", tx{amount: "-10.00", counterparty: "ONLINE CASINO", mcc: "7995"}, insights.CategoryGambling, "mcc:7995"},
		{"mcc atm", tx{amount: "-50.00", counterparty: "LINK ATM", mcc: "6011"}, insights.CategoryCash, "mcc:6011"},
		{"mcc subscription", tx{amount: "-10.99", counterparty: "NETFLIX.COM", mcc: "4899"}, insights.CategorySubscriptions, "mcc:4899"},
		{"mcc unmapped", tx{amount: "-120.00", counterparty: "CITY HOSPITAL", mcc: "8062"}, insights.CategoryOther, "mcc:8062"},
		{"card refund credit", tx{amount: "12.00", counterparty: "TESCO STORES", mcc: "5411",
			code: "CustomerCardTransactions"}, insights.CategoryRefund, "card:refund"},
		{"card gambling winnings", tx{amount: "200.00", counterparty: "BET365", mcc: "7995"},
			insights.CategoryOtherIncome, "card:gambling-winnings"},

		// A landlord named like a fast-food chain, paid by standing order.
		{"landlord like fast food", tx{amount: "-950.00", counterparty: "MCDONALDS PROPERTY LTD", description: "RENT JUNE",
			code: "IssuedCreditTransfers", subCode: "StandingOrder"}, insights.CategoryRent, "text:rent"},
		{"lettings like fast food", tx{amount: "-950.00", counterparty: "KFC LETTINGS", proprietary: "SO"},
			insights.CategoryRent, "text:rent"},
		{"standing order no merchant guess", tx{amount: "-100.00", counterparty: "KFC HOLDINGS",
			code: "PMNT-ICDT-STDO"}, insights.CategoryOther, "btc:StandingOrder"},
		{"card no mcc merchant guess", tx{amount: "-8.20", description: "CARD PAYMENT TO KFC 1234 ON 12 MAR",
			proprietary: "DEB"}, insights.CategoryEatingOut, "merchant:eating-out"},

		// Both vocabularies of ISO 20022 bank transaction codes.
		{"direct debit names utilities", tx{amount: "-80.00", counterparty: "BRITISH GAS",
			code: "IssuedDirectDebits", subCode: "DirectDebitPayment"}, insights.CategoryUtilities, "text:utilities"},
		{"direct debit codes utilities", tx{amount: "-80.00", counterparty: "BRITISH GAS",
			code: "PMNT-IDDT-PMDD"}, insights.CategoryUtilities, "text:utilities"},
		{"direct debit plural names", tx{amount: "-20.00", counterparty: "ACME SERVICES",
			code: "IssuedDirectDebits", subCode: "DirectDebitPayment"}, insights.CategoryOther, "btc:IssuedDirectDebits"},
		{"direct debit singular name", tx{amount: "-20.00", counterparty: "ACME SERVICES",
			code: "IssuedDirectDebit"}, insights.CategoryOther, "btc:IssuedDirectDebits"},
		{"direct debit separate codes", tx{amount: "-20.00", counterparty: "ACME SERVICES",
			code: "IDDT", subCode: "PMDD"}, insights.CategoryOther, "btc:IssuedDirectDebits"},
		{"cash withdrawal names", tx{amount: "-50.00", counterparty: "HIGH ST",
			code: "CustomerCardTransactions", subCode: "CashWithdrawal"}, insights.CategoryCash, "btc:CashWithdrawal"},
		{"cash withdrawal codes", tx{amount: "-50.00", counterparty: "HIGH ST",
			code: "PMNT-CCRD-CWDL"}, insights.CategoryCash, "btc:CashWithdrawal"},
		{"automatic transfer", tx{amount: "-25.00", counterparty: "ROUND UP",
			code: "IssuedCreditTransfer", subCode: "AutomaticTransfer"}, insights.CategoryTransfer, "btc:AutomaticTransfer"},
		{"issued cheque", tx{amount: "-25.00", code: "IssuedCheques", subCode: "Cheque"},
			insights.CategoryOther, "btc:Cheque"},
		{"received cheque", tx{amount: "25.00", code: "ReceivedCheques"}, insights.CategoryOtherIncome, "btc:ReceivedCheques"},
		{"branch deposit", tx{amount: "300.00", code: "CounterTransactions", subCode: "BranchDeposit"},
			insights.CategoryOtherIncome, "btc:BranchDeposit"},
		{"salary sub-family", tx{amount: "2100.00", counterparty: "ACME LTD", code: "PMNT-RCDT-SALA"},
			insights.CategorySalary, "btc:SalaryPayment"},
		{"interest credit", tx{amount: "1.23", code: "AccountManagement-Interest"}, insights.CategoryInterest, "btc:Interest"},
		{"charges debit", tx{amount: "-5.00", code: "ACMT-MDOP-CHRG"}, insights.CategoryBankFees, "btc:Charges"},
		{"payment return", tx{amount: "80.00", counterparty: "BRITISH GAS", code: "PMNT-RCDT-RRTN"},
			insights.CategoryReturned, "btc:Reversal"},

		// Direction comes from the amount, never from the code.
		{"credit under issued code", tx{amount: "40.00", counterparty: "ACME SERVICES", code: "IssuedDirectDebits"},
			insights.CategoryOtherIncome, "btc:IssuedDirectDebits"},
		{"debit under received code", tx{amount: "-2100.00", counterparty: "ACME LTD", description: "SALARY",
			code: "ReceivedCreditTransfers", subCode: "DomesticCreditTransfer"}, insights.CategoryOther, "btc:ReceivedCreditTransfers"},

		// Proprietary codes.
		{"proprietary direct debit", tx{amount: "-15.00", counterparty: "ACME SERVICES", proprietary: "DirectDebit"},
			insights.CategoryOther, "proprietary:DirectDebit"},
		{"proprietary interest debit", tx{amount: "-3.10", proprietary: "INT"}, insights.CategoryBankFees, "proprietary:Interest"},
		{"proprietary cashpoint", tx{amount: "-20.00", description: "LINK 12MAR", proprietary: "CPT"},
			insights.CategoryCash, "proprietary:CashWithdrawal"},

		// Words naming an obligation or an income source.
		{"salary words", tx{amount: "2100.00", counterparty: "ACME LTD", description: "SALARY MAR",
			code: "ReceivedCreditTransfer", subCode: "DomesticCreditTransfer"}, insights.CategorySalary, "text:salary"},
		{"refund by transfer", tx{amount: "19.99", counterparty: "AMAZON", description: "REFUND",
			code: "ReceivedCreditTransfers"}, insights.CategoryRefund, "text:refund"},
		{"refund from payroll is not salary", tx{amount: "50.00", counterparty: "ACME PAYROLL", description: "REFUND OF OVERPAYMENT"},
			insights.CategoryRefund, "text:refund"},
		{"returned direct debit credit", tx{amount: "80.00", description: "UNPAID DD BRITISH GAS"},
			insights.CategoryReturned, "text:returned-payment"},
		{"unpaid item fee", tx{amount: "-15.00", description: "UNPAID ITEM FEE"}, insights.CategoryBankFees, "text:bank-fees"},
		{"overdraft fee", tx{amount: "-6.00", description: "ARRANGED OVERDRAFT FEE"}, insights.CategoryBankFees, "text:bank-fees"},
		{"council tax", tx{amount: "-140.00", counterparty: "LAMBETH COUNCIL", description: "COUNCIL TAX",
			code: "IssuedDirectDebits"}, insights.CategoryCouncilTax, "text:council-tax"},
		{"council rent is rent", tx{amount: "-400.00", counterparty: "LAMBETH COUNCIL", description: "RENT"},
			insights.CategoryRent, "text:rent"},
		{"council alone", tx{amount: "-140.00", counterparty: "LEEDS CITY COUNCIL", code: "IssuedDirectDebits"},
			insights.CategoryCouncilTax, "text:council"},
		{"mortgage", tx{amount: "-800.00", counterparty: "NATIONWIDE", description: "MORTGAGE"}, insights.CategoryMortgage, "text:mortgage"},
		{"water", tx{amount: "-35.00", counterparty: "THAMES WATER", proprietary: "DD"}, insights.CategoryUtilities, "text:utilities"},
		{"broadband", tx{amount: "-35.00", counterparty: "SKY DIGITAL", proprietary: "DD"}, insights.CategoryUtilities, "text:utilities"},
		{"sky bet is gambling", tx{amount: "-20.00", counterparty: "SKY BET"}, insights.CategoryGambling, "text:gambling"},
		{"insurance", tx{amount: "-30.00", counterparty: "ADMIRAL INSURANCE"}, insights.CategoryInsurance, "text:insurance"},
		{"credit card", tx{amount: "-200.00", counterparty: "BARCLAYCARD"}, insights.CategoryCreditCard, "text:credit-card"},
		{"loan", tx{amount: "-150.00", counterparty: "ZOPA", description: "LOAN REPAYMENT"}, insights.CategoryLoan, "text:loans"},
		{"universal credit", tx{amount: "400.00", counterparty: "DWP UC"}, insights.CategoryBenefits, "text:benefits"},
		{"state pension", tx{amount: "700.00", counterparty: "DWP STATE PENSION"}, insights.CategoryPension, "text:pension"},
		{"child benefit", tx{amount: "100.00", counterparty: "HMRC CHILD BENEFIT"}, insights.CategoryBenefits, "text:benefits"},
		{"tax repayment", tx{amount: "250.00", counterparty: "HMRC"}, insights.CategoryRefund, "text:hmrc-repayment"},
		{"tax payment", tx{amount: "-250.00", counterparty: "HMRC SELF ASSESSMENT"}, insights.CategoryOther, "text:hmrc-payment"},
		{"insurer pension credit", tx{amount: "300.00", counterparty: "AVIVA PENSION"}, insights.CategoryPension, "text:pension"},
		{"interest words", tx{amount: "0.52", description: "GROSS INTEREST"}, insights.CategoryInterest, "text:interest"},
		{"own account out", tx{amount: "-100.00", description: "TO SAVINGS ACCOUNT", proprietary: "FPO"},
			insights.CategoryTransfer, "text:own-account-transfer"},
		{"own account in", tx{amount: "100.00", description: "FROM SAVINGS", proprietary: "FPI"},
			insights.CategoryTransfer, "text:own-account-transfer"},

		// Merchant names, the weakest signal.
		{"uber eats before uber", tx{amount: "-18.00", counterparty: "UBER EATS"}, insights.CategoryEatingOut, "merchant:eating-out"},
		{"uber trip", tx{amount: "-9.00", counterparty: "UBER TRIP"}, insights.CategoryTransport, "merchant:transport"},
		{"supermarket", tx{amount: "-9.00", counterparty: "Sainsbury's"}, insights.CategoryGroceries, "merchant:groceries"},

		// Defaults.
		{"unknown credit", tx{amount: "60.00", counterparty: "J SMITH"}, insights.CategoryOtherIncome, "default:credit"},
		{"unknown debit", tx{amount: "-60.00", counterparty: "J SMITH"}, insights.CategoryOther, "default:debit"},
		{"faster payment credit", tx{amount: "60.00", counterparty: "J SMITH", proprietary: "FPI"},
			insights.CategoryOtherIncome, "proprietary:FasterPayment"},
		{"zero amount", tx{amount: "0", counterparty: "CARD CHECK", mcc: "5411"}, insights.CategoryOther, "default:zero-amount"},
	}
	c := New()
	// A load's function returns the same decision whether it normalises a
	// name for the first time or takes it from its memo.
	forLoad := c.ForLoad()
	ways := []struct {
		name     string
		classify func(*insights.Transaction)
	}{{"Categorize", c.Categorize}, {"ForLoad", forLoad}, {"ForLoad again", forLoad}}
	for _, way := range ways {
		for _, tc := range cases {
			t.Run(way.name+"/"+tc.name, func(t *testing.T) {
				got := tc.tx.transaction()
				way.classify(&got)
				if got.Category != tc.wantCat {
					t.Errorf("Category = %q, want %q", got.Category, tc.wantCat)
				}
				if got.CategoryRule != tc.wantRule {
					t.Errorf("CategoryRule = %q, want %q", got.CategoryRule, tc.wantRule)
				}
			})
		}
	}
}

// TestLoadMemo_narratives checks that a load normalises narratives as
// NormalizeCounterparty does when it looks up the later passes: for
// narratives that share a first pass, that need several passes, and past
// the bound of the memo.
func TestLoadMemo_narratives(t *testing.T) {
	memo := &loadMemo{names: map[string]string{}, settled: map[string]string{}}
	forms := []string{"TESCO STORES %d REF %d", "ACME %d DD MAY %d", "CARD PAYMENT TO SHOP %d ON 12 DD MAY ref %d",
		"Bill Payment %d Council Tax %d", "%d %d"}
	for i := range 3 * memoNames {
		narrative := fmt.Sprintf(forms[i%len(forms)], i%40, 100000+i)
		for range 2 {
			if got, want := memo.normalizeNarrative(narrative), NormalizeCounterparty(narrative); got != want {
				t.Fatalf("normalizeNarrative(%q) = %q, want %q", narrative, got, want)
			}
		}
		if len(memo.settled) > memoNames {
			t.Fatalf("memo holds %d narratives, more than %d", len(memo.settled), memoNames)
		}
	}
}

func TestLoadMemo_boundedNames(t *testing.T) {
	memo := &loadMemo{names: map[string]string{}}
	for i := range 3 * memoNames {
		name := fmt.Sprintf("Acme Stores %d Limited", i)
		if got, want := memo.normalize(name), NormalizeCounterparty(name); got != want {
			t.Fatalf("normalize(%q) = %q, want %q", name, got, want)
		}
		if len(memo.names) > memoNames {
			t.Fatalf("memo holds %d names, more than %d", len(memo.names), memoNames)
		}
	}
	if got, want := memo.normalize("Acme Stores 1 Limited"), "ACME STORES 1 LTD"; got != want {
		t.Errorf("normalize after clearing = %q, want %q", got, want)
	}
}

// No credit may get a spending category, whatever else it carries.
func TestCategorize_creditNeverSpending(t *testing.T) {
	spending := map[insights.Category]bool{
		insights.CategoryRent: true, insights.CategoryMortgage: true, insights.CategoryCouncilTax: true,
		insights.CategoryUtilities: true, insights.CategoryLoan: true, insights.CategoryCreditCard: true,
		insights.CategoryInsurance: true, insights.CategoryGroceries: true, insights.CategoryEatingOut: true,
		insights.CategoryTransport: true, insights.CategoryGambling: true, insights.CategoryCash: true,
		insights.CategoryBankFees: true, insights.CategorySubscriptions: true, insights.CategoryShopping: true,
		insights.CategoryOther: true,
	}
	credits := []tx{
		{amount: "10.00", counterparty: "TESCO", mcc: "5411"},
		{amount: "10.00", counterparty: "LANDLORD", description: "RENT"},
		{amount: "10.00", counterparty: "BRITISH GAS", code: "IssuedDirectDebits"},
		{amount: "10.00", counterparty: "LINK ATM", mcc: "6011"},
		{amount: "10.00", code: "PMNT-CCRD-CWDL"},
		{amount: "10.00", counterparty: "NETFLIX", mcc: "9999"},
		{amount: "10.00", counterparty: "ZOPA LOAN", proprietary: "SO"},
	}
	c := New()
	for _, x := range credits {
		got := x.transaction()
		c.Categorize(&got)
		if spending[got.Category] {
			t.Errorf("credit %+v got spending category %q by %q", x, got.Category, got.CategoryRule)
		}
	}
}

func TestISO20022Codes_vocabularies(t *testing.T) {
	cases := []struct {
		code, subCode, wantFamily, wantSub string
	}{
		{"PMNT-RCDT-DMCT", "", "RCDT", "DMCT"},
		{"RCDT-DMCT", "", "RCDT", "DMCT"},
		{"ReceivedCreditTransfer", "DomesticCreditTransfer", "RCDT", "DMCT"},
		{"ReceivedCreditTransfers", "DomesticCreditTransfers", "RCDT", "DMCT"},
		{"IssuedDirectDebits", "DirectDebitPayment", "IDDT", "PMDD"},
		{"CustomerCardTransactions", "CashWithdrawal", "CCRD", "CWDL"},
		{"IssuedCreditTransfers", "AutomaticTransfer", "ICDT", "AUTT"},
		{"CounterTransactions", "BranchDeposit", "CNTR", "BCDP"},
		{"IssuedCheques", "", "ICHQ", ""},
		{"Received Cheque", "", "RCHQ", ""},
		{"SomethingElse", "Whatever", "", ""},
	}
	for _, tc := range cases {
		family, sub := iso20022Codes(tc.code, tc.subCode)
		if family != tc.wantFamily {
			t.Errorf("iso20022Codes(%q, %q) family = %q, want %q", tc.code, tc.subCode, family, tc.wantFamily)
		}
		if sub != tc.wantSub {
			t.Errorf("iso20022Codes(%q, %q) sub-family = %q, want %q", tc.code, tc.subCode, sub, tc.wantSub)
		}
	}
}
