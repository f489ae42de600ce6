package vigil

import (
	"context"
	"time"
)

// SecurityEvent is what a breach detector raised: an attack pattern seen
// in live traffic (enumeration, credential stuffing, a reset surge, use of
// revoked credentials). Subject names what it is about ("src:203.0.113.7",
// "caller:<account id>", "global"); it never holds a secret.
type SecurityEvent struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Rule      string `json:"rule"`
	Severity  string `json:"severity"`
	Subject   string `json:"subject"`
	Summary   string `json:"summary"`
	Count     int    `json:"count"`
	Threshold int    `json:"threshold"`
	// WindowSeconds is the sliding window the count was taken over.
	WindowSeconds int64     `json:"window_seconds"`
	At            time.Time `json:"at"`
}

// SecurityEventFilter narrows a listing of security events. Zero fields
// do not filter.
type SecurityEventFilter struct {
	Kind     string
	Severity string
	Subject  string
	Since    time.Time
	Until    time.Time
}

// Incident states.
const (
	IncidentOpen   = "open"
	IncidentClosed = "closed"
)

// Incident severities, also used by security events.
var Severities = []string{"low", "medium", "high", "critical"}

// RegulatorDeadline is how long after detection a personal-data breach
// must be reported to the supervisory authority (GDPR Art. 33(1)).
const RegulatorDeadline = 72 * time.Hour

// Incident is a security incident the operators are handling.
type Incident struct {
	ID          string
	Title       string
	Severity    string
	Description string
	Status      string
	DetectedAt  time.Time
	CreatedAt   time.Time
	CreatedBy   string
	NotifiedAt  time.Time // when the regulator notification was recorded; zero if not yet
	ClosedAt    time.Time
	Affected    int // accounts recorded as affected
}

// Timeline entry kinds. Entries of every kind but note are written by
// vigil itself, in the same transaction as the action they record.
const (
	TimelineNote         = "note"
	TimelineOpened       = "opened"
	TimelineRevocation   = "revocation"
	TimelineForcedReset  = "forced_reset"
	TimelineNotification = "notification"
	TimelineAffected     = "accounts_affected"
	TimelineRegulator    = "regulator_notified"
	TimelineStatus       = "status"
)

// TimelineEntry is one line of an incident's timeline.
type TimelineEntry struct {
	ID         string
	IncidentID string
	At         time.Time
	Kind       string
	Text       string
	ActorID    string
	RefID      string // the revocation or notification run it records
}

// IncidentNotification is a run sending one templated notice to every
// account affected by an incident, paced so a million notices do not flood
// the mail relay.
type IncidentNotification struct {
	ID         string
	IncidentID string
	Subject    string
	Body       string
	PerMinute  int
	Total      int    // accounts recorded as affected when the run started
	Enqueued   int    // notices written so far
	Cursor     string // last account id enqueued
	NextDue    time.Time
	Status     string // "running", "done"
	CreatedBy  string
	CreatedAt  time.Time
	FinishedAt time.Time
}

// DeliveryProgress counts the outbox items of one batch.
type DeliveryProgress struct {
	Queued    int `json:"queued"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
}

// IncidentStore is the part of the store that keeps security events and
// incidents.
type IncidentStore interface {
	// AddSecurityEvent stores an event and writes fx, in one transaction.
	AddSecurityEvent(ctx context.Context, e *SecurityEvent, fx Effects) error
	// SecurityEvents lists events newest first, filtered and paged.
	SecurityEvents(ctx context.Context, f SecurityEventFilter, p Page) ([]*SecurityEvent, string, error)

	// CreateIncident stores an incident and writes fx (its first timeline
	// entry among them), in one transaction.
	CreateIncident(ctx context.Context, inc *Incident, fx Effects) error
	// IncidentByID returns an incident (ENOTFOUND if none), with Affected
	// counted.
	IncidentByID(ctx context.Context, id string) (*Incident, error)
	// Incidents lists incidents newest first, paged.
	Incidents(ctx context.Context, p Page) ([]*Incident, string, error)
	// UpdateIncident stores the status, notified and closed times of inc
	// and writes fx, in one transaction. Timeline entries are written
	// through Effects, by this and any other change made under an
	// incident; an entry for an unknown incident is ENOTFOUND.
	UpdateIncident(ctx context.Context, inc *Incident, fx Effects) error
	// Timeline returns an incident's timeline, oldest first.
	Timeline(ctx context.Context, incidentID string) ([]*TimelineEntry, error)
	// AddAffectedAccounts records accounts as affected (ids already
	// recorded are skipped) and writes fx, in one transaction; it reports
	// how many were new. Unknown account ids are EINVALID and change
	// nothing.
	AddAffectedAccounts(ctx context.Context, incidentID string, accountIDs []string, fx Effects) (int, error)
	// AffectedAccounts returns up to limit affected account ids greater
	// than after, in order.
	AffectedAccounts(ctx context.Context, incidentID, after string, limit int) ([]string, error)

	// CreateIncidentNotification stores a run and writes fx, in one
	// transaction.
	CreateIncidentNotification(ctx context.Context, n *IncidentNotification, fx Effects) error
	// IncidentNotifications returns an incident's runs, oldest first.
	IncidentNotifications(ctx context.Context, incidentID string) ([]*IncidentNotification, error)
	// RunningNotifications returns the runs not finished yet.
	RunningNotifications(ctx context.Context) ([]*IncidentNotification, error)
	// AdvanceNotification writes a chunk of a run: its outbox items, and
	// the run's new enqueued count, cursor, next due time and status, in
	// one transaction. It fails with ECONFLICT, writing nothing, if the
	// run's cursor is no longer prevCursor (another worker advanced it).
	AdvanceNotification(ctx context.Context, n *IncidentNotification, prevCursor string, fx Effects) error
	// BatchProgress counts the outbox items of batch.
	BatchProgress(ctx context.Context, batch string) (DeliveryProgress, error)
}
