package vigil

import "time"

// OutboxItem is one message waiting to be delivered: a security notice by
// mail, SMS or webhook. It is written in the same transaction as the change
// it reports, so a change is never committed without its notice, and a
// worker delivers it afterwards with retries. ID doubles as the idempotency
// key every delivery carries, so a receiver can drop the duplicate of a
// retry.
type OutboxItem struct {
	ID            string
	Channel       string // "mail", "sms", "webhook"
	AccountID     string // whom it concerns ("" for operator notices)
	Payload       []byte // opaque to the store; the service seals anything secret in it
	Attempts      int    // deliveries started so far
	NextAttemptAt time.Time
	CreatedAt     time.Time
	DeliveredAt   time.Time // zero until delivered
	LastError     string    // the last failure, for operators; never shown to users
	Dead          bool      // given up after too many failures
	Batch         string    // groups items sent together (an incident notification run), for progress; "" for most
}

// Outbox channels.
const (
	ChannelMail    = "mail"
	ChannelSMS     = "sms"
	ChannelWebhook = "webhook"
)
