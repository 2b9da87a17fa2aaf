package sample

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	insights "github.com/openbanking-insights/insights"
)

// labelsJSON is labels.json: what the generator intended, for measuring
// categorisation and income detection against.
type labelsJSON struct {
	CustomerID string `json:"customer_id"`
	Seed       int64  `json:"seed"`
	From       string `json:"from"` // first day of the history
	End        string `json:"end"`
	// BirthDate is empty when the party has none on file.
	BirthDate     string                       `json:"birth_date,omitempty"`
	Accounts      []accountLabel               `json:"accounts"`
	IncomeStreams []*streamLabel               `json:"income_streams"`
	Categories    map[string]insights.Category `json:"categories"` // by TransactionId
}

type accountLabel struct {
	AccountID string `json:"account_id"`
	SubType   string `json:"account_sub_type"`
	// OpeningBalance is the signed booked balance before the first entry.
	// ClosingBooked is OpeningBalance plus every Booked entry.
	OpeningBalance string `json:"opening_balance"`
	ClosingBooked  string `json:"closing_booked"`
	Booked         int    `json:"booked"`
	Pending        int    `json:"pending"`
	// Declined counts card payments the bank declined for lack of funds.
	// They appear nowhere in the feed.
	Declined int `json:"declined"`
}

// feedFiles holds the contents of one customer's five files.
type feedFiles struct {
	accounts, balances, party, transactions, labels []byte
}

// render turns a built customer into its files.
func render(c *customer, cfg Config, from insights.Date) (feedFiles, error) {
	b := c.bank
	asOf := time.Date(cfg.End.Year, cfg.End.Month, cfg.End.Day, 23, 59, 59, 0, london)
	labels := labelsJSON{
		CustomerID:    c.id,
		Seed:          cfg.Seed,
		From:          from.String(),
		End:           cfg.End.String(),
		BirthDate:     c.party.BirthDate,
		IncomeStreams: c.streams,
		Categories:    map[string]insights.Category{},
	}
	var accounts accountsData
	var balances balancesData
	var lines bytes.Buffer
	paid := map[*streamLabel][]*entry{}

	for _, a := range c.accounts {
		accounts.Account = append(accounts.Account, accountWire(c, a))

		label := accountLabel{AccountID: a.id, SubType: a.subType, OpeningBalance: signedMoney(a.opening)}
		balance, pendingDebits := a.opening, int64(0)
		for _, e := range a.sortedEntries() {
			if e.compute != nil {
				if e.pence = e.compute(balance); e.pence == 0 {
					continue
				}
			}
			signed := e.pence
			if !e.credit {
				signed = -signed
			}
			if e.declinable && balance+signed < -a.overdraft {
				label.Declined++
				continue
			}

			t := transactionWire(c, a, e, label.Booked+label.Pending)
			if e.pending {
				label.Pending++
				if !e.credit {
					pendingDebits += e.pence
				}
			} else {
				label.Booked++
				balance += signed
				t.ValueDateTime = b.formatTime(e.at)
				t.Balance = &runningBalanceJSON{
					Amount: money(balance), CreditDebitIndicator: indicator(balance), Type: "InterimBooked",
				}
				if e.stream != nil {
					paid[e.stream] = append(paid[e.stream], e)
				}
				if e.mandate != nil {
					e.mandate.last = e
				}
				if e.standingOrder != nil {
					e.standingOrder.last = e
				}
			}
			labels.Categories[t.TransactionID] = e.category

			line, err := marshalCompact(transactionLine{Transaction: t})
			if err != nil {
				return feedFiles{}, fmt.Errorf("encode transaction of customer %s: %w", c.id, err)
			}
			lines.Write(line)
		}
		label.ClosingBooked = signedMoney(balance)
		labels.Accounts = append(labels.Accounts, label)
		balances.Balance = append(balances.Balance, balanceWire(a, b, asOf, balance, pendingDebits)...)
	}
	for _, s := range c.streams {
		summarise(s, paid[s])
	}

	var files feedFiles
	var err error
	if files.accounts, err = marshalIndented(envelope[accountsData]{accounts, links{b.apiBase + "/accounts"}, meta{1}}); err != nil {
		return files, fmt.Errorf("encode accounts of customer %s: %w", c.id, err)
	}
	if files.balances, err = marshalIndented(envelope[balancesData]{balances, links{b.apiBase + "/balances"}, meta{1}}); err != nil {
		return files, fmt.Errorf("encode balances of customer %s: %w", c.id, err)
	}
	if files.party, err = marshalIndented(envelope[partyData]{partyData{c.party}, links{b.apiBase + "/party"}, meta{1}}); err != nil {
		return files, fmt.Errorf("encode party of customer %s: %w", c.id, err)
	}
	if files.labels, err = marshalIndented(labels); err != nil {
		return files, fmt.Errorf("encode labels of customer %s: %w", c.id, err)
	}
	files.transactions = lines.Bytes()
	return files, nil
}

func accountWire(c *customer, a *account) accountJSON {
	opened := a.opened.In(london).Add(9 * time.Hour)
	return accountJSON{
		AccountID:            a.id,
		Status:               "Enabled",
		StatusUpdateDateTime: c.bank.formatTime(opened),
		Currency:             "GBP",
		AccountType:          "Personal",
		AccountSubType:       a.subType,
		Nickname:             a.nickname,
		OpeningDate:          a.opened.String(),
		Account: []cashAccountJSON{{
			SchemeName:     "UK.OBIE.SortCodeAccountNumber",
			Identification: c.bank.sortCode + a.number,
			Name:           accountName(c.party.FullLegalName),
		}},
	}
}

// accountName writes a full legal name the way banks print it on an
// account: title, initials of the given names, surname, in capitals.
func accountName(full string) string {
	words := strings.Fields(strings.ToUpper(full))
	if len(words) < 3 {
		return strings.Join(words, " ")
	}
	out := []string{words[0]}
	for _, w := range words[1 : len(words)-1] {
		out = append(out, w[:1])
	}
	return strings.Join(append(out, words[len(words)-1]), " ")
}

// balanceWire returns the InterimAvailable and ClosingBooked balances at
// asOf. Available is the booked balance less pending card debits. On an
// account with an arranged overdraft it includes the overdraft, and its
// CreditLine is marked Included.
func balanceWire(a *account, b *bank, asOf time.Time, booked, pendingDebits int64) []balanceJSON {
	available := booked - pendingDebits
	interim := balanceJSON{AccountID: a.id, Type: "InterimAvailable", DateTime: b.formatTime(asOf)}
	closing := balanceJSON{AccountID: a.id, Type: "ClosingBooked", DateTime: b.formatTime(asOf)}
	if a.overdraft > 0 {
		available += a.overdraft
		line := creditLineJSON{Amount: money(a.overdraft), Type: "Pre-Agreed"}
		closing.CreditLine = []creditLineJSON{line}
		line.Included = true
		interim.CreditLine = []creditLineJSON{line}
	}
	interim.Amount, interim.CreditDebitIndicator = money(available), indicator(available)
	closing.Amount, closing.CreditDebitIndicator = money(booked), indicator(booked)
	return []balanceJSON{interim, closing}
}

// transactionWire writes e without its running balance and value date,
// which only booked entries carry. n is e's position among a's entries.
func transactionWire(c *customer, a *account, e *entry, n int) transactionJSON {
	b := c.bank
	digestInput := fmt.Sprintf("%s|%s|%d|%s|%d|%t", c.id, a.id, n, e.at.UTC().Format(time.RFC3339Nano), e.pence, e.credit)
	sum := sha256.Sum256([]byte(digestInput))

	t := transactionJSON{
		AccountID:              a.id,
		TransactionID:          b.transactionID(hex.EncodeToString(sum[:16])),
		TransactionReference:   e.ref,
		Amount:                 money(e.pence),
		CreditDebitIndicator:   "Debit",
		Status:                 "Booked",
		BookingDateTime:        b.formatTime(e.at),
		TransactionInformation: narrative(b, e),
		BankTransactionCode:    bankTransactionCodes[e.kind],
		ProprietaryBankTransactionCode: proprietaryCodeJSON{
			Code: b.codes[e.kind], Issuer: b.issuer,
		},
	}
	if e.credit {
		t.CreditDebitIndicator = "Credit"
	}
	if e.pending {
		t.Status = "Pending"
	}
	if e.merchant != nil {
		t.MerchantDetails = &merchantDetailsJSON{MerchantName: e.merchant.name, MerchantCategoryCode: e.merchant.mcc}
		t.CardInstrument = &cardInstrumentJSON{CardSchemeName: cardScheme(b), AuthorisationType: authorisation(e)}
	}
	if e.party != nil {
		account := &cashAccountJSON{
			SchemeName:     "UK.OBIE.SortCodeAccountNumber",
			Identification: e.party.sortCode + e.party.number,
			Name:           e.party.name,
		}
		if e.credit {
			t.DebtorAccount = account
		} else {
			t.CreditorAccount = account
		}
	}
	return t
}

func narrative(b *bank, e *entry) string {
	if e.merchant != nil {
		return b.card(e.kind, e.credit, *e.merchant, e.purchase.In(london))
	}
	return strings.TrimSpace(fmt.Sprintf(b.narratives[e.kind], e.name, e.ref))
}

func cardScheme(b *bank) string {
	if b == cobalt {
		return "MasterCard"
	}
	return "VISA"
}

// authorisation returns the OBIE AuthorisationType of a card entry: PIN at
// cash machines and above the £100 UK contactless limit, else contactless.
func authorisation(e *entry) string {
	if e.kind == kindCash || e.pence > 10000 {
		return "PIN"
	}
	return "Contactless"
}

// summarise fills the counted fields of s from its booked payments, which
// are in booking order within one account.
func summarise(s *streamLabel, payments []*entry) {
	s.Payments = len(payments)
	if len(payments) == 0 {
		return
	}
	s.FirstPaid = insights.DateOf(payments[0].at.In(london)).String()
	s.LastPaid = insights.DateOf(payments[len(payments)-1].at.In(london)).String()

	amounts := make([]int64, len(payments))
	for i, e := range payments {
		amounts[i] = e.pence
	}
	slices.Sort(amounts)
	median := amounts[len(amounts)/2]
	if len(amounts)%2 == 0 {
		median = (amounts[len(amounts)/2-1] + median) / 2
	}
	s.TypicalAmount = money(median).Amount
}

// money writes the magnitude of pence as an OBIE GBP amount.
func money(pence int64) amountJSON {
	if pence < 0 {
		pence = -pence
	}
	return amountJSON{Amount: insights.Amount(pence * 1000).Format(2), Currency: "GBP"}
}

func signedMoney(pence int64) string {
	return insights.Amount(pence * 1000).Format(2)
}

// indicator returns the CreditDebitIndicator of a balance: Debit when
// overdrawn, Credit otherwise (including zero).
func indicator(pence int64) string {
	if pence < 0 {
		return "Debit"
	}
	return "Credit"
}

func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

func marshalIndented(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(v)
	return buf.Bytes(), err
}
