package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/vigil-dev/vigil"
)

// AddSecurityEvent implements vigil.Store.
func (db *DB) AddSecurityEvent(ctx context.Context, e *vigil.SecurityEvent, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		if _, err := t.exec(ctx, `INSERT INTO security_events (id, kind, rule, severity, subject, summary, count, threshold, window_secs, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.Kind, e.Rule, e.Severity, e.Subject, e.Summary, e.Count, e.Threshold,
			e.WindowSeconds, micros(e.At)); err != nil {
			return err
		}
		return insertEffects(ctx, t, fx)
	})
}

// SecurityEvents implements vigil.Store.
func (db *DB) SecurityEvents(ctx context.Context, f vigil.SecurityEventFilter, p vigil.Page) ([]*vigil.SecurityEvent, string, error) {
	until := int64(1 << 62)
	if !f.Until.IsZero() {
		until = micros(f.Until)
	}
	return keysetPageArgs(ctx, db, `SELECT id, kind, rule, severity, subject, summary, count, threshold, window_secs, at
		FROM security_events
		WHERE (? = '' OR kind = ?) AND (? = '' OR severity = ?) AND (? = '' OR subject = ?) AND at >= ? AND at < ?
		AND (at < ? OR (at = ? AND id < ?))
		ORDER BY at DESC, id DESC LIMIT ?`,
		[]any{f.Kind, f.Kind, f.Severity, f.Severity, f.Subject, f.Subject, micros(f.Since), until}, p,
		func(r *sql.Rows) (*vigil.SecurityEvent, error) {
			var e vigil.SecurityEvent
			var at int64
			err := r.Scan(&e.ID, &e.Kind, &e.Rule, &e.Severity, &e.Subject, &e.Summary, &e.Count, &e.Threshold, &e.WindowSeconds, &at)
			e.At = fromMicros(at)
			return &e, err
		},
		func(e *vigil.SecurityEvent) (time.Time, string) { return e.At, e.ID })
}

const incidentColumns = `id, title, severity, description, status, detected_at, created_at, created_by, notified_at, closed_at`

func scanIncident(r interface{ Scan(...any) error }) (*vigil.Incident, error) {
	var inc vigil.Incident
	var detected, created, notified, closed int64
	if err := r.Scan(&inc.ID, &inc.Title, &inc.Severity, &inc.Description, &inc.Status, &detected, &created,
		&inc.CreatedBy, &notified, &closed); err != nil {
		return nil, err
	}
	inc.DetectedAt, inc.CreatedAt = fromMicros(detected), fromMicros(created)
	inc.NotifiedAt, inc.ClosedAt = fromMicros(notified), fromMicros(closed)
	return &inc, nil
}

// CreateIncident implements vigil.Store.
func (db *DB) CreateIncident(ctx context.Context, inc *vigil.Incident, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		if _, err := t.exec(ctx, `INSERT INTO incidents (`+incidentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			inc.ID, inc.Title, inc.Severity, inc.Description, inc.Status, micros(inc.DetectedAt), micros(inc.CreatedAt),
			inc.CreatedBy, micros(inc.NotifiedAt), micros(inc.ClosedAt)); err != nil {
			if isUnique(err) {
				return vigil.Errorf(vigil.ECONFLICT, "incident already exists")
			}
			return err
		}
		return insertEffects(ctx, t, fx)
	})
}

// insertTimeline adds incident timeline entries inside a transaction.
func insertTimeline(ctx context.Context, t *txn, es []*vigil.TimelineEntry) error {
	for _, e := range es {
		if _, err := t.exec(ctx, `INSERT INTO incident_timeline (id, incident_id, at, kind, text, actor_id, ref_id)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, e.ID, e.IncidentID, micros(e.At), e.Kind, e.Text, e.ActorID, e.RefID); err != nil {
			if isForeignKey(err) {
				return vigil.Errorf(vigil.ENOTFOUND, "incident not found")
			}
			return err
		}
	}
	return nil
}

// IncidentByID implements vigil.Store.
func (db *DB) IncidentByID(ctx context.Context, id string) (*vigil.Incident, error) {
	inc, err := scanIncident(db.queryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "incident")
	}
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM incident_accounts WHERE incident_id = ?`, id).Scan(&inc.Affected); err != nil {
		return nil, err
	}
	return inc, nil
}

// Incidents implements vigil.Store.
func (db *DB) Incidents(ctx context.Context, p vigil.Page) ([]*vigil.Incident, string, error) {
	return keysetPageArgs(ctx, db, `SELECT `+incidentColumns+` FROM incidents
		WHERE (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?`, nil, p,
		func(r *sql.Rows) (*vigil.Incident, error) { return scanIncident(r) },
		func(inc *vigil.Incident) (time.Time, string) { return inc.CreatedAt, inc.ID })
}

// UpdateIncident implements vigil.Store.
func (db *DB) UpdateIncident(ctx context.Context, inc *vigil.Incident, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		if err := oneRow(t.exec(ctx, `UPDATE incidents SET status = ?, notified_at = ?, closed_at = ? WHERE id = ?`,
			inc.Status, micros(inc.NotifiedAt), micros(inc.ClosedAt), inc.ID)); err != nil {
			return orNone(err, vigil.Errorf(vigil.ENOTFOUND, "incident not found"))
		}
		return insertEffects(ctx, t, fx)
	})
}

// Timeline implements vigil.Store.
func (db *DB) Timeline(ctx context.Context, incidentID string) ([]*vigil.TimelineEntry, error) {
	rows, err := db.query(ctx, `SELECT id, incident_id, at, kind, text, actor_id, ref_id FROM incident_timeline
		WHERE incident_id = ? ORDER BY at, id`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*vigil.TimelineEntry
	for rows.Next() {
		var e vigil.TimelineEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.IncidentID, &at, &e.Kind, &e.Text, &e.ActorID, &e.RefID); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// AddAffectedAccounts implements vigil.Store.
func (db *DB) AddAffectedAccounts(ctx context.Context, incidentID string, accountIDs []string, fx vigil.Effects) (int, error) {
	added := 0
	err := db.tx(ctx, func(t *txn) error {
		added = 0
		var n int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM incidents WHERE id = ?`, incidentID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return vigil.Errorf(vigil.ENOTFOUND, "incident not found")
		}
		for _, id := range accountIDs {
			if err := t.queryRow(ctx, `SELECT COUNT(*) FROM accounts WHERE id = ?`, id).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return vigil.Errorf(vigil.EINVALID, "no account has the id %q", id)
			}
			res, err := t.exec(ctx, `INSERT INTO incident_accounts (incident_id, account_id) VALUES (?, ?) ON CONFLICT DO NOTHING`,
				incidentID, id)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			added += int(k)
		}
		return insertEffects(ctx, t, fx)
	})
	return added, err
}

// AffectedAccounts implements vigil.Store.
func (db *DB) AffectedAccounts(ctx context.Context, incidentID, after string, limit int) ([]string, error) {
	rows, err := db.query(ctx, `SELECT account_id FROM incident_accounts WHERE incident_id = ? AND account_id > ?
		ORDER BY account_id LIMIT ?`, incidentID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

const notificationColumns = `id, incident_id, subject, body, per_minute, total, enqueued, cursor, next_due, status, created_by, created_at, finished_at`

func scanNotification(r interface{ Scan(...any) error }) (*vigil.IncidentNotification, error) {
	var n vigil.IncidentNotification
	var due, created, finished int64
	if err := r.Scan(&n.ID, &n.IncidentID, &n.Subject, &n.Body, &n.PerMinute, &n.Total, &n.Enqueued, &n.Cursor, &due,
		&n.Status, &n.CreatedBy, &created, &finished); err != nil {
		return nil, err
	}
	n.NextDue, n.CreatedAt, n.FinishedAt = fromMicros(due), fromMicros(created), fromMicros(finished)
	return &n, nil
}

// CreateIncidentNotification implements vigil.Store.
func (db *DB) CreateIncidentNotification(ctx context.Context, n *vigil.IncidentNotification, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		if _, err := t.exec(ctx, `INSERT INTO incident_notifications (`+notificationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			n.ID, n.IncidentID, n.Subject, n.Body, n.PerMinute, n.Total, n.Enqueued, n.Cursor, micros(n.NextDue), n.Status,
			n.CreatedBy, micros(n.CreatedAt), micros(n.FinishedAt)); err != nil {
			if isForeignKey(err) {
				return vigil.Errorf(vigil.ENOTFOUND, "incident not found")
			}
			return err
		}
		return insertEffects(ctx, t, fx)
	})
}

func (db *DB) notifications(ctx context.Context, where string, args ...any) ([]*vigil.IncidentNotification, error) {
	rows, err := db.query(ctx, `SELECT `+notificationColumns+` FROM incident_notifications WHERE `+where+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*vigil.IncidentNotification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// IncidentNotifications implements vigil.Store.
func (db *DB) IncidentNotifications(ctx context.Context, incidentID string) ([]*vigil.IncidentNotification, error) {
	return db.notifications(ctx, `incident_id = ?`, incidentID)
}

// RunningNotifications implements vigil.Store.
func (db *DB) RunningNotifications(ctx context.Context) ([]*vigil.IncidentNotification, error) {
	return db.notifications(ctx, `status = 'running'`)
}

// AdvanceNotification implements vigil.Store.
func (db *DB) AdvanceNotification(ctx context.Context, n *vigil.IncidentNotification, prevCursor string, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		if err := oneRow(t.exec(ctx, `UPDATE incident_notifications SET enqueued = ?, cursor = ?, next_due = ?, status = ?, finished_at = ?
			WHERE id = ? AND cursor = ? AND status = 'running'`, n.Enqueued, n.Cursor, micros(n.NextDue), n.Status, micros(n.FinishedAt),
			n.ID, prevCursor)); err != nil {
			return orNone(err, vigil.Errorf(vigil.ECONFLICT, "notification run moved on"))
		}
		return insertEffects(ctx, t, fx)
	})
}

// BatchProgress implements vigil.Store.
func (db *DB) BatchProgress(ctx context.Context, batch string) (vigil.DeliveryProgress, error) {
	var p vigil.DeliveryProgress
	err := db.queryRow(ctx, `SELECT
			COALESCE(SUM(CASE WHEN delivered_at = 0 AND NOT dead THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN delivered_at <> 0 THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN dead THEN 1 ELSE 0 END), 0)
		FROM outbox WHERE batch = ?`, batch).Scan(&p.Queued, &p.Delivered, &p.Failed)
	return p, err
}
