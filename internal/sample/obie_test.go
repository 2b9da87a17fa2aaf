package sample_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/sample"
)

// The field names, enumerations and patterns below are those of the OBIE
// Account and Transaction API v3.1.11 OpenAPI definition (OBReadAccount6,
// OBReadBalance1, OBReadParty2, OBTransaction6, OBReadDirectDebit2,
// OBReadStandingOrder6, OBReadScheduledPayment3). BirthDate on the party is
// the one field of ours.
var obieFields = map[string][]string{
	"":                                   {"Data", "Links", "Meta"},
	"Links":                              {"Self", "First", "Prev", "Next", "Last"},
	"Meta":                               {"TotalPages", "FirstAvailableDateTime", "LastAvailableDateTime"},
	"Data":                               {"Account", "Balance", "Party", "DirectDebit", "StandingOrder", "ScheduledPayment"},
	"Data.Account[]":                     {"AccountId", "Status", "StatusUpdateDateTime", "Currency", "AccountType", "AccountSubType", "Description", "Nickname", "OpeningDate", "MaturityDate", "SwitchStatus", "Account", "Servicer"},
	"Data.Account[].Account[]":           {"SchemeName", "Identification", "Name", "SecondaryIdentification"},
	"Data.Balance[]":                     {"AccountId", "CreditDebitIndicator", "Type", "DateTime", "Amount", "CreditLine"},
	"Data.Balance[].Amount":              {"Amount", "Currency"},
	"Data.Balance[].CreditLine[]":        {"Included", "Type", "Amount"},
	"Data.Balance[].CreditLine[].Amount": {"Amount", "Currency"},
	"Data.Party": {"PartyId", "PartyNumber", "PartyType", "Name", "FullLegalName", "LegalStructure", "BeneficialOwnership",
		"AccountRole", "EmailAddress", "Phone", "Mobile", "Relationships", "Address", "BirthDate"},
	"Data.Party.Address[]": {"AddressType", "AddressLine", "StreetName", "BuildingNumber", "PostCode", "TownName", "CountrySubDivision", "Country"},
	"Transaction": {"AccountId", "TransactionId", "TransactionReference", "StatementReference", "CreditDebitIndicator", "Status",
		"TransactionMutability", "BookingDateTime", "ValueDateTime", "TransactionInformation", "AddressLine", "Amount", "ChargeAmount",
		"CurrencyExchange", "BankTransactionCode", "ProprietaryBankTransactionCode", "Balance", "MerchantDetails", "CreditorAgent",
		"CreditorAccount", "DebtorAgent", "DebtorAccount", "CardInstrument", "SupplementaryData"},
	"Data.DirectDebit[]": {"AccountId", "DirectDebitId", "MandateIdentification", "DirectDebitStatusCode", "Name",
		"PreviousPaymentDateTime", "Frequency", "PreviousPaymentAmount"},
	"Data.DirectDebit[].PreviousPaymentAmount": {"Amount", "Currency"},
	"Data.StandingOrder[]": {"AccountId", "StandingOrderId", "Frequency", "Reference", "FirstPaymentDateTime",
		"NextPaymentDateTime", "LastPaymentDateTime", "FinalPaymentDateTime", "NumberOfPayments", "StandingOrderStatusCode",
		"FirstPaymentAmount", "NextPaymentAmount", "LastPaymentAmount", "FinalPaymentAmount", "CreditorAgent", "CreditorAccount",
		"SupplementaryData"},
	"Data.StandingOrder[].FirstPaymentAmount": {"Amount", "Currency"},
	"Data.StandingOrder[].NextPaymentAmount":  {"Amount", "Currency"},
	"Data.StandingOrder[].LastPaymentAmount":  {"Amount", "Currency"},
	"Data.StandingOrder[].FinalPaymentAmount": {"Amount", "Currency"},
	"Data.StandingOrder[].CreditorAccount":    {"SchemeName", "Identification", "Name", "SecondaryIdentification"},
	"Data.ScheduledPayment[]": {"AccountId", "ScheduledPaymentId", "ScheduledPaymentDateTime", "ScheduledType", "Reference",
		"DebtorReference", "InstructedAmount", "CreditorAgent", "CreditorAccount"},
	"Data.ScheduledPayment[].InstructedAmount":   {"Amount", "Currency"},
	"Data.ScheduledPayment[].CreditorAccount":    {"SchemeName", "Identification", "Name", "SecondaryIdentification"},
	"Transaction.Amount":                         {"Amount", "Currency"},
	"Transaction.BankTransactionCode":            {"Code", "SubCode"},
	"Transaction.ProprietaryBankTransactionCode": {"Code", "Issuer"},
	"Transaction.Balance":                        {"Amount", "CreditDebitIndicator", "Type"},
	"Transaction.Balance.Amount":                 {"Amount", "Currency"},
	"Transaction.MerchantDetails":                {"MerchantName", "MerchantCategoryCode"},
	"Transaction.CreditorAccount":                {"SchemeName", "Identification", "Name", "SecondaryIdentification"},
	"Transaction.DebtorAccount":                  {"SchemeName", "Identification", "Name", "SecondaryIdentification"},
	"Transaction.CardInstrument":                 {"CardSchemeName", "AuthorisationType", "Name", "Identification"},
}

var obieRequired = map[string][]string{
	"":                            {"Data", "Links", "Meta"},
	"Links":                       {"Self"},
	"Data.Account[]":              {"AccountId", "Currency", "AccountType", "AccountSubType"},
	"Data.Account[].Account[]":    {"SchemeName", "Identification"},
	"Data.Balance[]":              {"AccountId", "CreditDebitIndicator", "Type", "DateTime", "Amount"},
	"Data.Balance[].CreditLine[]": {"Included"},
	"Data.Party":                  {"PartyId"},
	"Data.Party.Address[]":        {"Country"},
	"Data.DirectDebit[]":          {"AccountId", "MandateIdentification", "Name"},
	"Data.StandingOrder[]":        {"AccountId", "Frequency"},
	"Data.ScheduledPayment[]":     {"AccountId", "ScheduledPaymentDateTime", "ScheduledType", "InstructedAmount"},
	"Data.ScheduledPayment[].InstructedAmount": {"Amount", "Currency"},
	"Transaction":                                {"AccountId", "CreditDebitIndicator", "Status", "BookingDateTime", "Amount"},
	"Transaction.BankTransactionCode":            {"Code", "SubCode"},
	"Transaction.ProprietaryBankTransactionCode": {"Code"},
	"Transaction.Balance":                        {"Amount", "CreditDebitIndicator", "Type"},
	"Transaction.CreditorAccount":                {"SchemeName", "Identification"},
	"Transaction.DebtorAccount":                  {"SchemeName", "Identification"},
	"Transaction.CardInstrument":                 {"CardSchemeName"},
}

func oneOf(values ...string) func(string) error {
	return func(s string) error {
		if !slices.Contains(values, s) {
			return fmt.Errorf("not one of %v", values)
		}
		return nil
	}
}

func matches(pattern string) func(string) error {
	re := regexp.MustCompile(pattern)
	return func(s string) error {
		if !re.MatchString(s) {
			return fmt.Errorf("does not match %s", pattern)
		}
		return nil
	}
}

func maxLength(n int) func(string) error {
	return func(s string) error {
		if len([]rune(s)) > n {
			return fmt.Errorf("longer than %d characters", n)
		}
		return nil
	}
}

// dateTime requires an RFC 3339 date-time, which always carries a zone.
func dateTime(s string) error {
	_, err := time.Parse(time.RFC3339, s)
	return err
}

func isoDate(s string) error {
	_, err := time.Parse(time.DateOnly, s)
	return err
}

func absoluteURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("not an absolute https URI")
	}
	return nil
}

var (
	amount       = matches(`^\d{1,13}$|^\d{1,13}\.\d{1,5}$`)
	currency     = matches(`^[A-Z]{3}$`)
	indicator    = oneOf("Credit", "Debit")
	balanceTypes = oneOf("ClosingAvailable", "ClosingBooked", "ClosingCleared", "Expected", "ForwardAvailable", "Information", "InterimAvailable", "InterimBooked", "InterimCleared", "OpeningAvailable", "OpeningBooked", "OpeningCleared", "PreviouslyClosedBooked")
	sortCodeAcct = matches(`^\d{14}$`)
	ukPostCode   = matches(`^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$`)
	schemeNames  = oneOf("UK.OBIE.SortCodeAccountNumber")
	mcc          = matches(`^\d{3,4}$`)
	nonEmpty     = matches(`\S`)
)

// obieChecks maps a leaf's path to its rule. AddressLine[] applies to each line.
var obieChecks = map[string]func(string) error{
	"Links.Self":                                             absoluteURL,
	"Data.Account[].AccountId":                               maxLength(40),
	"Data.Account[].Status":                                  oneOf("Deleted", "Disabled", "Enabled", "Pending", "ProForma"),
	"Data.Account[].StatusUpdateDateTime":                    dateTime,
	"Data.Account[].Currency":                                currency,
	"Data.Account[].AccountType":                             oneOf("Business", "Personal"),
	"Data.Account[].AccountSubType":                          oneOf("ChargeCard", "CreditCard", "CurrentAccount", "EMoney", "Loan", "Mortgage", "PrePaidCard", "Savings", "Wallet"),
	"Data.Account[].Nickname":                                maxLength(70),
	"Data.Account[].OpeningDate":                             isoDate,
	"Data.Account[].Account[].SchemeName":                    schemeNames,
	"Data.Account[].Account[].Identification":                sortCodeAcct,
	"Data.Account[].Account[].Name":                          maxLength(350),
	"Data.Balance[].AccountId":                               maxLength(40),
	"Data.Balance[].CreditDebitIndicator":                    indicator,
	"Data.Balance[].Type":                                    balanceTypes,
	"Data.Balance[].DateTime":                                dateTime,
	"Data.Balance[].Amount.Amount":                           amount,
	"Data.Balance[].Amount.Currency":                         currency,
	"Data.Balance[].CreditLine[].Type":                       oneOf("Available", "Credit", "Emergency", "Pre-Agreed", "Temporary"),
	"Data.Balance[].CreditLine[].Amount.Amount":              amount,
	"Data.Balance[].CreditLine[].Amount.Currency":            currency,
	"Data.Party.PartyId":                                     maxLength(40),
	"Data.Party.PartyType":                                   oneOf("Delegate", "Joint", "Sole"),
	"Data.Party.Name":                                        maxLength(350),
	"Data.Party.FullLegalName":                               maxLength(350),
	"Data.Party.BirthDate":                                   isoDate,
	"Data.Party.Address[].AddressType":                       oneOf("Business", "Correspondence", "DeliveryTo", "MailTo", "POBox", "Postal", "Residential", "Statement"),
	"Data.Party.Address[].AddressLine[]":                     maxLength(70),
	"Data.Party.Address[].StreetName":                        maxLength(70),
	"Data.Party.Address[].BuildingNumber":                    maxLength(16),
	"Data.Party.Address[].PostCode":                          ukPostCode,
	"Data.Party.Address[].TownName":                          maxLength(35),
	"Data.Party.Address[].Country":                           matches(`^[A-Z]{2}$`),
	"Data.DirectDebit[].AccountId":                           maxLength(40),
	"Data.DirectDebit[].DirectDebitId":                       maxLength(40),
	"Data.DirectDebit[].MandateIdentification":               maxLength(35),
	"Data.DirectDebit[].DirectDebitStatusCode":               oneOf("Active", "Inactive"),
	"Data.DirectDebit[].Name":                                maxLength(70),
	"Data.DirectDebit[].PreviousPaymentDateTime":             dateTime,
	"Data.DirectDebit[].PreviousPaymentAmount.Amount":        amount,
	"Data.DirectDebit[].PreviousPaymentAmount.Currency":      currency,
	"Data.StandingOrder[].AccountId":                         maxLength(40),
	"Data.StandingOrder[].StandingOrderId":                   maxLength(40),
	"Data.StandingOrder[].Frequency":                         matches(`^(NILL|EvryDay|EvryWorkgDay|IntrvlDay:(0[2-9]|[12][0-9]|3[01])|IntrvlWkDay:0[1-9]:0[1-7]|WkInMnthDay:0[1-5]:0[1-7]|IntrvlMnthDay:(0[1-6]|12|24):(-0[1-5]|0[1-9]|[12][0-9]|3[01])|QtrDay:(ENGLISH|SCOTTISH|RECEIVED))$`),
	"Data.StandingOrder[].Reference":                         maxLength(35),
	"Data.StandingOrder[].FirstPaymentDateTime":              dateTime,
	"Data.StandingOrder[].NextPaymentDateTime":               dateTime,
	"Data.StandingOrder[].LastPaymentDateTime":               dateTime,
	"Data.StandingOrder[].StandingOrderStatusCode":           oneOf("Active", "Inactive"),
	"Data.StandingOrder[].FirstPaymentAmount.Amount":         amount,
	"Data.StandingOrder[].FirstPaymentAmount.Currency":       currency,
	"Data.StandingOrder[].NextPaymentAmount.Amount":          amount,
	"Data.StandingOrder[].NextPaymentAmount.Currency":        currency,
	"Data.StandingOrder[].LastPaymentAmount.Amount":          amount,
	"Data.StandingOrder[].LastPaymentAmount.Currency":        currency,
	"Data.StandingOrder[].CreditorAccount.SchemeName":        schemeNames,
	"Data.StandingOrder[].CreditorAccount.Identification":    sortCodeAcct,
	"Data.StandingOrder[].CreditorAccount.Name":              maxLength(350),
	"Data.ScheduledPayment[].AccountId":                      maxLength(40),
	"Data.ScheduledPayment[].ScheduledPaymentId":             maxLength(40),
	"Data.ScheduledPayment[].ScheduledPaymentDateTime":       dateTime,
	"Data.ScheduledPayment[].ScheduledType":                  oneOf("Arrival", "Execution"),
	"Data.ScheduledPayment[].Reference":                      maxLength(35),
	"Data.ScheduledPayment[].InstructedAmount.Amount":        amount,
	"Data.ScheduledPayment[].InstructedAmount.Currency":      currency,
	"Data.ScheduledPayment[].CreditorAccount.SchemeName":     schemeNames,
	"Data.ScheduledPayment[].CreditorAccount.Identification": sortCodeAcct,
	"Data.ScheduledPayment[].CreditorAccount.Name":           maxLength(350),
	"Transaction.AccountId":                                  maxLength(40),
	"Transaction.TransactionId":                              maxLength(210),
	"Transaction.TransactionReference":                       maxLength(35),
	"Transaction.CreditDebitIndicator":                       indicator,
	"Transaction.Status":                                     oneOf("Booked", "Pending", "Rejected"),
	"Transaction.BookingDateTime":                            dateTime,
	"Transaction.ValueDateTime":                              dateTime,
	"Transaction.TransactionInformation":                     maxLength(500),
	"Transaction.Amount.Amount":                              amount,
	"Transaction.Amount.Currency":                            currency,
	"Transaction.BankTransactionCode.Code":                   nonEmpty,
	"Transaction.BankTransactionCode.SubCode":                nonEmpty,
	"Transaction.ProprietaryBankTransactionCode.Code":        maxLength(35),
	"Transaction.ProprietaryBankTransactionCode.Issuer":      maxLength(35),
	"Transaction.Balance.Amount.Amount":                      amount,
	"Transaction.Balance.Amount.Currency":                    currency,
	"Transaction.Balance.CreditDebitIndicator":               indicator,
	"Transaction.Balance.Type":                               balanceTypes,
	"Transaction.MerchantDetails.MerchantName":               maxLength(350),
	"Transaction.MerchantDetails.MerchantCategoryCode":       mcc,
	"Transaction.CreditorAccount.SchemeName":                 schemeNames,
	"Transaction.CreditorAccount.Identification":             sortCodeAcct,
	"Transaction.CreditorAccount.Name":                       maxLength(350),
	"Transaction.DebtorAccount.SchemeName":                   schemeNames,
	"Transaction.DebtorAccount.Identification":               sortCodeAcct,
	"Transaction.DebtorAccount.Name":                         maxLength(350),
	"Transaction.CardInstrument.CardSchemeName":              oneOf("AmericanExpress", "Diners", "Discover", "MasterCard", "VISA"),
	"Transaction.CardInstrument.AuthorisationType":           oneOf("ConsumerDevice", "Contactless", "None", "PIN"),
}

// checkOBIE walks v and reports unknown or missing fields and values that
// break their rule, by JSON path.
func checkOBIE(t *testing.T, where, path string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		allowed, ok := obieFields[path]
		if !ok {
			t.Errorf("%s: object at %q is not expected", where, path)
			return
		}
		for key, child := range v {
			if !slices.Contains(allowed, key) {
				t.Errorf("%s: %s has field %q, not in OBIE v3.1", where, path, key)
				continue
			}
			checkOBIE(t, where, strings.TrimPrefix(path+"."+key, "."), child)
		}
		for _, key := range obieRequired[path] {
			if _, ok := v[key]; !ok {
				t.Errorf("%s: %s lacks required field %q", where, path, key)
			}
		}
	case []any:
		if path == "Data.Party.Address[].AddressLine" && len(v) > 5 {
			t.Errorf("%s: %s has %d lines, at most 5 allowed", where, path, len(v))
		}
		for _, child := range v {
			checkOBIE(t, where, path+"[]", child)
		}
	case string:
		if v == "" {
			t.Errorf("%s: %s is an empty string; OBIE leaves out fields without a value", where, path)
		}
		if check, ok := obieChecks[path]; ok {
			if err := check(v); err != nil {
				t.Errorf("%s: %s: %v", where, path, err)
			}
		}
	}
}

func TestFeed_obieV31(t *testing.T) {
	for _, customer := range sample.Customers() {
		t.Run(customer, func(t *testing.T) {
			for _, name := range []string{sample.AccountsFile, sample.BalancesFile, sample.PartyFile,
				sample.DirectDebitsFile, sample.StandingOrdersFile, sample.ScheduledPaymentsFile} {
				orders := name == sample.DirectDebitsFile || name == sample.StandingOrdersFile || name == sample.ScheduledPaymentsFile
				if _, err := os.Stat(filepath.Join(generated, customer, name)); orders && err != nil {
					continue // no payment orders of this kind
				}
				var doc any
				readJSON(t, customer, name, &doc)
				checkOBIE(t, name, "", doc)
			}

			data, err := os.ReadFile(filepath.Join(generated, customer, sample.TransactionsFile))
			if err != nil {
				t.Fatal(err)
			}
			scanner := bufio.NewScanner(bytes.NewReader(data))
			for line := 1; scanner.Scan(); line++ {
				var doc map[string]any
				if err := json.Unmarshal(scanner.Bytes(), &doc); err != nil {
					t.Fatalf("line %d: %v", line, err)
				}
				where := fmt.Sprintf("%s line %d", sample.TransactionsFile, line)
				if _, ok := doc["Transaction"]; !ok || len(doc) != 1 {
					t.Errorf("%s: want one object with the single field Transaction", where)
					continue
				}
				checkOBIE(t, where, "Transaction", doc["Transaction"])
			}
		})
	}
}
