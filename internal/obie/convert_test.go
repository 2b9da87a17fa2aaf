package obie

import (
	"testing"
	"time"

	insights "github.com/openbanking-insights/insights"
)

func TestParseDateTime_forms(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2017-04-05T10:43:07+00:00", time.Date(2017, 4, 5, 10, 43, 7, 0, time.UTC)},
		{"2017-04-05T11:43:07+01:00", time.Date(2017, 4, 5, 10, 43, 7, 0, time.UTC)},
		{"2019-09-16T01:59:39.629Z", time.Date(2019, 9, 16, 1, 59, 39, 629e6, time.UTC)},
		{"2019-09-16t01:59:39z", time.Date(2019, 9, 16, 1, 59, 39, 0, time.UTC)},
		// Without an offset: London wall-clock time, BST in July, GMT in January.
		{"2017-07-01T00:00:00", time.Date(2017, 6, 30, 23, 0, 0, 0, time.UTC)},
		{"2017-01-02T00:00:00.5", time.Date(2017, 1, 2, 0, 0, 0, 5e8, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDateTime(tt.in, London)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("got %v, want %v in UTC", got, tt.want)
			}
		})
	}
}

func TestParseDateTime_rejects(t *testing.T) {
	for _, in := range []string{
		"", "2017-04-05", "01-05-2002", "11-Dec-17", "2017-04-05 10:43:07Z", "2017-04-05T10:43Z",
		"2017-04-05T10:43:07+0000", "2017-04-05T10:43:07.1234567890Z", "2017-04-05T24:00:00Z",
		"2017-04-05T10:43:07+25:00", "20170405T104307Z", "2017-04-05T10:43:07 +00:00",
	} {
		t.Run(in, func(t *testing.T) {
			if got, err := ParseDateTime(in, London); err == nil {
				t.Errorf("accepted as %v", got)
			}
		})
	}
}

func TestTransactionToDomain_mapping(t *testing.T) {
	tx := Transaction{
		AccountID:                      "A1",
		TransactionID:                  "T1",
		CreditDebitIndicator:           Debit,
		Status:                         "BOOK",
		BookingDateTime:                "2017-06-30T23:00:00.000Z",
		ValueDateTime:                  "2017-07-01T09:00:00+01:00",
		TransactionInformation:         "Card payment",
		Amount:                         &Amount{Amount: "12.5", Currency: "GBP"},
		BankTransactionCode:            &BankTransactionCode{Code: "IssuedCreditTransfer", SubCode: "AutomaticTransfer"},
		ProprietaryBankTransactionCode: &ProprietaryBankTransactionCode{Code: "DirectDebit", Issuer: "AlphaBank"},
		MerchantDetails:                &MerchantDetails{MerchantName: "Shop", MerchantCategoryCode: "5411"},
		CreditorAccount:                &CashAccount{Name: "Payee Ltd"},
		DebtorAccount:                  &CashAccount{Name: "Account Holder"},
	}
	got, err := tx.ToDomain("c1", London)
	if err != nil {
		t.Fatal(err)
	}
	want := insights.Transaction{
		CustomerID:             "c1",
		AccountID:              "A1",
		TransactionID:          "T1",
		Status:                 insights.StatusBooked,
		BookingTime:            time.Date(2017, 6, 30, 23, 0, 0, 0, time.UTC),
		ValueTime:              time.Date(2017, 7, 1, 8, 0, 0, 0, time.UTC),
		BookingDate:            insights.Date{Year: 2017, Month: time.July, Day: 1},
		Amount:                 -1250000,
		Currency:               "GBP",
		Description:            "Card payment",
		Counterparty:           "Payee Ltd",
		MCC:                    "5411",
		BankTransactionCode:    "IssuedCreditTransfer",
		BankTransactionSubCode: "AutomaticTransfer",
		ProprietaryCode:        "DirectDebit",
		ProprietaryIssuer:      "AlphaBank",
	}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestTransactionToDomain_counterparty(t *testing.T) {
	tests := []struct {
		name string
		cdi  string
		tx   Transaction
		want string
	}{
		{"debit creditor", Debit, Transaction{CreditorAccount: &CashAccount{Name: "Landlord"}, DebtorAccount: &CashAccount{Name: "Me"}}, "Landlord"},
		{"credit debtor", Credit, Transaction{CreditorAccount: &CashAccount{Name: "Me"}, DebtorAccount: &CashAccount{Name: "Employer plc"}}, "Employer plc"},
		{"merchant fallback", Debit, Transaction{MerchantDetails: &MerchantDetails{MerchantName: "Grocer"}}, "Grocer"},
		{"credit without debtor", Credit, Transaction{CreditorAccount: &CashAccount{Name: "Me"}, MerchantDetails: &MerchantDetails{MerchantName: "Refunder"}}, "Refunder"},
		{"none", Credit, Transaction{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := tt.tx
			tx.AccountID, tx.Status, tx.CreditDebitIndicator = "A1", "Booked", tt.cdi
			tx.BookingDateTime = "2024-01-01T00:00:00Z"
			tx.Amount = &Amount{Amount: "1", Currency: "GBP"}
			got, err := tx.ToDomain("c1", London)
			if err != nil {
				t.Fatal(err)
			}
			if got.Counterparty != tt.want {
				t.Errorf("Counterparty = %q, want %q", got.Counterparty, tt.want)
			}
		})
	}
}

func TestTransactionStatus_versions(t *testing.T) {
	tests := map[string]insights.TransactionStatus{
		"Booked": insights.StatusBooked, "BOOK": insights.StatusBooked,
		"Pending": insights.StatusPending, "PDNG": insights.StatusPending,
		"Rejected": insights.StatusRejected, "RJCT": insights.StatusRejected,
		"FUTR": insights.StatusPending, "INFO": insights.StatusPending,
	}
	for code, want := range tests {
		if got, ok := TransactionStatus(code); !ok || got != want {
			t.Errorf("TransactionStatus(%q) = %q, %v; want %q", code, got, ok, want)
		}
	}
	if _, ok := TransactionStatus("booked"); ok {
		t.Error(`TransactionStatus("booked") accepted`)
	}
}

func TestBalanceToDomain_creditLines(t *testing.T) {
	yes, no := true, false
	b := Balance{
		AccountID:            "A1",
		Amount:               &Amount{Amount: "100.00", Currency: "GBP"},
		CreditDebitIndicator: Debit,
		Type:                 "ITAV",
		DateTime:             "2024-01-01T10:00:00Z",
		CreditLine: []CreditLine{
			{Included: &yes, Type: "Pre-Agreed", Amount: &Amount{Amount: "500", Currency: "GBP"}},
			{Included: &no, Type: "Available", Amount: &Amount{Amount: "400", Currency: "GBP"}},
			{Included: &yes, Type: "Temporary", Amount: &Amount{Amount: "50.5", Currency: "GBP"}},
			{Included: &yes, Type: "Temporary", Amount: &Amount{Amount: "70", Currency: "EUR"}},
		},
	}
	got, err := b.ToDomain("c1", London)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != "InterimAvailable" {
		t.Errorf("Type = %q, want InterimAvailable", got.Type)
	}
	if got.Amount != -10000000 {
		t.Errorf("Amount = %s, want -100", got.Amount)
	}
	if !got.CreditLineIncluded || got.CreditLine != 55050000 {
		t.Errorf("credit line = %v %s, want true 550.5", got.CreditLineIncluded, got.CreditLine)
	}
}

func TestPartyToDomain_address(t *testing.T) {
	p := Party{
		PartyID:       "P1",
		FullLegalName: "Mr Test Person",
		BirthDate:     "1980-02-29",
		Address: OneOrMany[PostalAddress]{
			{AddressType: "BIZZ", AddressLine: []string{"Office"}, Country: "GB"},
			{AddressType: "HOME", BuildingNumber: "11", StreetName: "Bank Street", TownName: "London", PostCode: "Z78 4TY", Country: "UK"},
		},
	}
	got, err := p.ToDomain("c1", insights.Date{Year: 2026, Month: 12, Day: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Mr Test Person" {
		t.Errorf("Name = %q, want the FullLegalName", got.Name)
	}
	if got.BirthDate != (insights.Date{Year: 1980, Month: 2, Day: 29}) {
		t.Errorf("BirthDate = %v", got.BirthDate)
	}
	want := insights.Address{Lines: []string{"11 Bank Street"}, Town: "London", PostCode: "Z78 4TY", Country: "GB"}
	if len(got.Address.Lines) != 1 || got.Address.Lines[0] != want.Lines[0] || got.Address.Town != want.Town ||
		got.Address.PostCode != want.PostCode || got.Address.Country != want.Country {
		t.Errorf("Address = %+v, want %+v", got.Address, want)
	}
}

func TestAccountToDomain_v4Names(t *testing.T) {
	a := Account{AccountID: "1", Currency: "GBP", AccountCategory: "Business", AccountTypeCode: "SVGS"}
	got := a.ToDomain("c1")
	if got.AccountType != "Business" || got.AccountSubType != "Savings" {
		t.Errorf("type = %q/%q, want Business/Savings", got.AccountType, got.AccountSubType)
	}
	a = Account{AccountID: "1", Currency: "GBP", AccountTypeCode: "TRAN"}
	if got := a.ToDomain("c1").AccountSubType; got != "TRAN" {
		t.Errorf("unmapped code = %q, want TRAN kept", got)
	}
}

// TestTransactionToDomain_parsedValues converts decoded transactions with
// the values validation parsed, and again after clearing them, changing a
// field or passing another zone: each result must equal a conversion that
// parses every field itself.
func TestTransactionToDomain_parsedValues(t *testing.T) {
	lines := Decoder{}.NewLineDecoder("feed.ndjson")
	p := &Payload{}
	for i, line := range []string{
		`{"Transaction":{"AccountId":"A1","TransactionId":"T1","CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2026-07-01T00:30:00","ValueDateTime":"2026-07-02T09:00:00.250+01:00","Amount":{"Amount":"12.50","Currency":"GBP"}}}`,
		`{"Transaction":{"AccountId":"A1","TransactionId":"T2","CreditDebitIndicator":"Credit","Status":"Pending","BookingDateTime":"2026-01-15T10:00:00Z","Amount":{"Amount":"1500","Currency":"GBP"}}}`,
	} {
		if !lines.Decode(i+1, []byte(line), p) {
			t.Fatalf("line %d not decoded: %v", i+1, lines.Errors.Err())
		}
	}
	if err := lines.Errors.Err(); err != nil {
		t.Fatal(err)
	}

	// parseAll converts a copy of tx without the values validation parsed.
	parseAll := func(tx Transaction, zone *time.Location) insights.Transaction {
		t.Helper()
		tx.parsed = parsedValues{}
		out, err := tx.ToDomain("c1", zone)
		if err != nil {
			t.Fatalf("ToDomain without parsed values: %v", err)
		}
		return out
	}
	changed := func(tx Transaction) Transaction {
		amount := *tx.Amount
		amount.Amount = "99.01"
		tx.Amount = &amount
		tx.BookingDateTime = "2026-12-01T08:00:00"
		return tx
	}
	for i := range p.Transactions {
		tx := p.Transactions[i]
		if tx.parsed.booking == "" || tx.parsed.amountText == "" {
			t.Fatalf("transaction %d: validation stored no parsed values: %+v", i+1, tx.parsed)
		}
		for _, tc := range []struct {
			name string
			tx   Transaction
			zone *time.Location
		}{
			{"as validated", tx, London},
			{"another zone", tx, time.UTC},
			{"fields changed after validation", changed(tx), London},
		} {
			got, err := tc.tx.ToDomain("c1", tc.zone)
			if err != nil {
				t.Fatalf("transaction %d, %s: %v", i+1, tc.name, err)
			}
			if want := parseAll(tc.tx, tc.zone); got != want {
				t.Errorf("transaction %d, %s:\ngot  %+v\nwant %+v", i+1, tc.name, got, want)
			}
		}
	}
}
