/*
 * pex.h: peer exchange (PEX) as a sans-I/O state machine (L4): DESIGN.md §5,
 * PROTOCOL.md §6 (PEX), with BEP 11's caps.
 *
 * What is shared. The host reports every contact it verified first-hand
 * (hy_pex_verified: it answered one of our requests) and every contact it
 * lost (hy_pex_lost: it went down or left the routing table). The module
 * remembers at most known_max of them. Peers in a lasting relationship (the
 * host's active set: hy_pex_peer_add / hy_pex_peer_remove, at most peers_max)
 * get PEX messages with deltas: `added` holds contacts verified within
 * fresh_ms that this peer was not told about since the relationship began,
 * `dropped` holds contacts it was told about and that were lost since. A
 * peer is never told about itself. At most max_added and max_dropped (each
 * <= HY_PEX_MAX = 50) and at most a byte budget per message; the rest waits
 * for the next round.
 *
 * When. The first PEX to a peer may go at once (as soon as there is something
 * to say); later ones at most once per interval_ms per peer. The host asks
 * hy_pex_due() which peers are due, builds each message with hy_pex_build()
 * and sleeps until hy_pex_next_deadline().
 *
 * What is received. A PEX from any node (hy_pex_receive) is rate-limited per
 * sender ID (a token bucket: rx_burst messages at once, then one per
 * rx_min_gap_ms; at most sources_max senders tracked, the least recently
 * active forgotten first). Its `added` contacts only become candidates for
 * the host to PING (never inserted anywhere): own ID, zero IDs, duplicates
 * within the message (same ID or same address), contacts already known
 * (verified and not lost, the sender and pex peers), addresses handed out
 * within offered_ms (a bounded memory of offered_max addresses, so one
 * address is not pinged again and again whoever names it), martian
 * addresses and, unless allow_local, loopback and private ones are
 * filtered and counted by reason. `dropped` entries are counted only: no
 * node acts on another node's word about a third.
 *
 * Time comes in as now_ms (monotonic milliseconds); nothing here sends,
 * prints or reads a clock. Every table is allocated by hy_pex_new() and
 * bounded by the config; nothing allocates afterwards. Deterministic for a
 * given input sequence.
 */
#ifndef HY_PEX_H
#define HY_PEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "hypha.h"
#include "id.h"
#include "wire.h"

/* Upper bounds on the configurable sizes (they bound hy_pex_new's memory:
 * one bit per pex peer and known contact). */
#define HY_PEX_PEERS_MAX 1024
#define HY_PEX_KNOWN_MAX 16384
#define HY_PEX_SOURCES_MAX 65536
#define HY_PEX_OFFERED_MAX 65536
#define HY_PEX_BURST_MAX 16
#define HY_PEX_DAY_MS (24ull * 3600 * 1000) /* cap on the time settings */

/* Bytes one array header of `added` or `dropped` counts against a budget. */
#define HY_PEX_LIST_HDR 3

/*
 * Configuration. Fill with hy_pex_config_default(), then change fields.
 * hy_pex_new() checks every field.
 */
struct hy_pex_config {
	unsigned max_added; /* added per message, 0..HY_PEX_MAX (50) */
	unsigned max_dropped; /* dropped per message, 0..HY_PEX_MAX (50) */
	uint64_t interval_ms; /* between PEX to one peer (60 s) */
	unsigned peers_max; /* pex peers tracked (64) */
	unsigned known_max; /* verified contacts remembered (512) */
	uint64_t fresh_ms; /* a contact verified within this is announced
	                      (15 min) */
	uint64_t rx_min_gap_ms; /* received PEX: one per this per sender
	                           after the burst (30 s) */
	unsigned rx_burst; /* received PEX accepted at once per sender (2) */
	unsigned sources_max; /* senders rate-limited at once (256) */
	unsigned offered_max; /* addresses remembered as offered (1024) */
	uint64_t offered_ms; /* an offered address is not offered again
	                        within this (10 min) */
	bool allow_local; /* loopback and private addresses are announced
	                     and offered (false) */
};

/* Why a received `added` contact was not offered as a candidate. */
enum hy_pex_filter {
	HY_PEX_F_ZERO = 0, /* zero ID */
	HY_PEX_F_SELF, /* our own ID */
	HY_PEX_F_DUP, /* same ID or address earlier in the message */
	HY_PEX_F_KNOWN, /* known verified, a pex peer, or the sender */
	HY_PEX_F_OFFERED, /* address offered within offered_ms */
	HY_PEX_F_MARTIAN, /* unset or martian address */
	HY_PEX_F_LOCAL, /* loopback/private and !allow_local */
	HY_PEX_F_OVERFLOW, /* the caller's candidate array was full */
	HY_PEX_F_COUNT
};

struct hy_pex_stats {
	uint64_t sent; /* hy_pex_build results with something to send */
	uint64_t empty; /* hy_pex_build results with nothing to send */
	uint64_t added_sent, dropped_sent; /* entries in those messages */
	uint64_t received; /* accepted by hy_pex_receive */
	uint64_t rate_limited; /* refused with HY_ERATELIMIT */
	uint64_t malformed; /* refused with HY_EINVAL (counts over cap) */
	uint64_t added_received, dropped_received; /* in accepted messages */
	uint64_t candidates_out; /* handed to the host to ping */
	uint64_t filtered[HY_PEX_F_COUNT]; /* by enum hy_pex_filter */
	uint64_t verified_ignored; /* hy_pex_verified: bad ID or address */
	uint64_t known_evicted; /* forgotten to make room (no dropped) */
	uint64_t sources_evicted; /* rate-limit state forgotten */
	size_t peers, known; /* current table sizes */
};

struct hy_pex;

/* Defaults as listed in struct hy_pex_config. */
void hy_pex_config_default(struct hy_pex_config *cfg);

/*
 * Create a PEX state for the node `self`. cfg NULL means the defaults.
 * Returns 0 and sets *out, HY_EINVAL for NULL out/self, a zero self ID or a
 * field out of range (max_added/max_dropped over HY_PEX_MAX, interval_ms,
 * rx_min_gap_ms or fresh_ms/offered_ms of 0 or over HY_PEX_DAY_MS, a size 0
 * or over its HY_PEX_*_MAX, rx_burst 0 or over HY_PEX_BURST_MAX), or
 * HY_ENOMEM. now_ms is the time of creation.
 */
int hy_pex_new(struct hy_pex **out, const struct hy_id *self,
    const struct hy_pex_config *cfg, uint64_t now_ms);
/* Free everything; NULL is a no-op. */
void hy_pex_free(struct hy_pex *pex);

/*
 * We verified c first-hand at now_ms (it answered one of our requests).
 * A new contact is remembered (the least recently verified one is forgotten
 * when known_max are remembered; peers told about it get no dropped); a
 * known one is refreshed and, if it was lost, alive again. A changed
 * address makes it new to every peer. Our own ID, a zero ID, an unset or
 * martian address, and a local one unless allow_local are ignored (and
 * counted). Peers that never got a PEX become due at once.
 */
void hy_pex_verified(struct hy_pex *pex, const struct hy_contact *c,
    uint64_t now_ms);

/*
 * The contact with this ID went down or left our table. It is announced to
 * nobody any more, and becomes a `dropped` entry exactly once for each peer
 * that was told about it. Unknown IDs are ignored.
 */
void hy_pex_lost(struct hy_pex *pex, const struct hy_id *id, uint64_t now_ms);

/*
 * Start a PEX relationship with peer (an active-set member). Its first PEX
 * is due at once. Returns 0, HY_EINVAL for NULL or a zero ID, HY_ESELF for
 * our own ID, HY_EFULL when peers_max peers are tracked, or HY_EEXIST if it
 * is a peer already (its address is updated, nothing else changes).
 */
int hy_pex_peer_add(struct hy_pex *pex, const struct hy_contact *peer,
    uint64_t now_ms);
/*
 * End the relationship: what it was told is forgotten (a new relationship
 * starts from scratch). Unknown IDs are ignored.
 */
void hy_pex_peer_remove(struct hy_pex *pex, const struct hy_id *id);

/*
 * Copy up to max peers whose PEX is due at now_ms into out, in the order
 * they were added. Returns how many. Nothing changes until hy_pex_build.
 */
size_t hy_pex_due(const struct hy_pex *pex, uint64_t now_ms,
    struct hy_contact *out, size_t max);

/*
 * The upper bound of a contact's encoded size in a PEX list: 43 bytes for
 * IPv4, 55 for IPv6.
 */
size_t hy_pex_contact_size(const struct hy_contact *c);

/*
 * Build the PEX for peer at now_ms into *out (zeroed first): lost contacts
 * it was told about in `dropped` (first, up to max_dropped), then fresh
 * contacts it was not told about in `added` (up to max_added), oldest
 * verification first so nothing waits forever, never the peer itself.
 * budget is the number of bytes the two lists may take when encoded,
 * HY_PEX_LIST_HDR per list included (SIZE_MAX: only the caps apply); a host
 * computes it as the path's envelope cap minus the encoded size of the same
 * message with both lists empty plus 2. What is put in *out counts as told;
 * the rest waits for the next round.
 *
 * Returns the number of entries in *out (n_added + n_dropped), which is 0
 * when there is nothing to say: then the host sends nothing. Either way the
 * peer is next due one interval later (and, while it never got a PEX, as
 * soon as a contact is verified). Returns HY_EINVAL for NULL arguments,
 * HY_ENOENT if peer is not a pex peer, HY_ERATELIMIT if it is not due yet
 * (*out untouched on errors).
 */
int hy_pex_build(struct hy_pex *pex, const struct hy_id *peer, uint64_t now_ms,
    size_t budget, struct hy_body_pex *out);

/*
 * A PEX body `in` (decoded, untrusted) arrived from node `from` at now_ms.
 * On success returns 0 and writes up to max candidates to PING into
 * cand[0..*n_cand) (each address is then remembered as offered; what does
 * not fit is filtered as HY_PEX_F_OVERFLOW and may be offered later).
 * Returns HY_EINVAL for NULL arguments or counts over HY_PEX_MAX, HY_ESELF
 * if from is our own ID, HY_ERATELIMIT if from is over its rate (nothing is
 * written on errors; refusals are counted).
 */
int hy_pex_receive(struct hy_pex *pex, const struct hy_id *from,
    const struct hy_body_pex *in, uint64_t now_ms, struct hy_contact *cand,
    size_t max, size_t *n_cand);

/* The earliest time a peer is due (may be in the past), UINT64_MAX if none.
 */
uint64_t hy_pex_next_deadline(const struct hy_pex *pex);

void hy_pex_get_stats(const struct hy_pex *pex, struct hy_pex_stats *out);

#endif /* HY_PEX_H */
