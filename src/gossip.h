/*
 * gossip.h: liveness of the node's contacts as a sans-I/O state machine
 * (L4): SWIM probing with Lifeguard's refinements, signed self-records and
 * suspicion hints piggybacked on probe traffic (DESIGN.md §5,
 * PROTOCOL.md §6 and §8).
 *
 * The view. The members are the contacts the host reports as verified
 * (hy_gossip_add: routing-table contacts and candidates that answered us),
 * at most members_max alive or suspect, plus at most down_max contacts
 * confirmed dead and still re-probed now and then (partition healing).
 * Liveness is decided locally: a member becomes suspect only when this
 * node's own probes failed (direct, then indirect through helpers, then
 * over TLS), and down only when the suspicion expires without any sign of
 * life. Hints from other nodes make this node probe the suspect sooner and
 * count as confirmations that shorten its suspicion timeout; they never
 * start or end a suspicion on their own.
 *
 * Probing. Every probe interval (stretched by the local health multiplier,
 * health.h) the next member in round-robin order gets a PROBE. If no ACK
 * comes within the probe timeout, PROBE_REQ goes to indirect_k helpers
 * (members with a session, different /16 or /48 from the target and from
 * each other first) and a PROBE over TLS to the target itself; if none of
 * those brings an ACK within the indirect timeout, the member is suspect.
 * Suspects are probed again every interval; any authenticated message
 * from them, or a self-record with a higher sequence number, refutes.
 *
 * I/O boundary (struct hy_gossip_host), as dht.h's: the host sends what the
 * module asks, with the paths of enum hy_gossip_via, and reports every
 * outcome exactly once through hy_gossip_on_response (a reply: err 0; else
 * HY_ETIMEDOUT etc.). Requests it refuses (non-zero return) get no
 * on_response. A PROBE sent HY_GOSSIP_VIA_ANY without a DTLS session
 * becomes a PING signed datagram (gossip items dropped, PROTOCOL.md §2);
 * its PONG counts as the ACK. The module never calls back into the host
 * from inside a host callback, and the host must not call the module from
 * inside one. Deterministic for a given rng seed and input sequence.
 */
#ifndef HY_GOSSIP_H
#define HY_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "hypha.h"
#include "id.h"
#include "wire.h"

#define HY_GOSSIP_MEMBERS_MAX 65536
#define HY_GOSSIP_K_MAX 8 /* indirect helpers per probe */

/* Paths a request can take (the host maps them onto its transports). */
enum hy_gossip_via {
	HY_GOSSIP_VIA_ANY = 0, /* DTLS session if up, else PING datagram */
	HY_GOSSIP_VIA_RELIABLE = 1, /* DTLS session if up, else TLS */
	HY_GOSSIP_VIA_TLS = 2 /* TLS (the TCP fallback probe) */
};

/* Member events (the host turns them into hy_node_event). */
enum hy_gossip_event {
	HY_GEV_UP = 1, /* new member, or a suspect / down one is alive */
	HY_GEV_SUSPECT = 2,
	HY_GEV_DOWN = 3, /* the host removes it from its routing table */
	HY_GEV_UPDATED = 4 /* a newer signed self-record */
};

/* Where a request came from, so that an answer can go back the same way. */
struct hy_gossip_peer {
	struct hy_id id;
	struct hy_addr addr;
	int path; /* enum hy_wire_path the request arrived on */
};

struct hy_gossip_host {
	void *ctx; /* passed back as `host` */
	/* Send request req (type, body and gossip filled; txid 0) and later
	 * report through hy_gossip_on_response(cookie) after at most
	 * timeout_ms (no retries: a probe is a single attempt). */
	int (*request)(void *host, const struct hy_addr *to,
	    const struct hy_id *to_id, struct hy_msg *req,
	    enum hy_gossip_via via, uint64_t timeout_ms, uint64_t cookie);
	/* Answer a request received from `to` (txid and path as given). */
	int (*reply)(void *host, const struct hy_gossip_peer *to, uint32_t txid,
	    struct hy_msg *rep);
	/* Is a DTLS session with `to` up (NULL: none ever)? */
	bool (*session_up)(void *host, const struct hy_addr *to);
	/* Keep (open) or release (!open) a session with an active-set
	 * member (NULL: no sessions). */
	void (*session)(void *host, const struct hy_addr *to,
	    const struct hy_id *id, bool open);
	void (*event)(void *host, enum hy_gossip_event ev,
	    const struct hy_id *id, const struct hy_addr *addr);
	/* Is id still a contact or candidate of the host's routing table?
	 * Asked before a member's round-robin probe; false forgets it
	 * (unless down). *in_table: a contact, not a candidate. NULL: every
	 * member stays until hy_gossip_remove. */
	bool (*keep)(void *host, const struct hy_id *id, bool *in_table);
	/* A node we do not know, learned from its signed record: the host
	 * pings it before it enters any table (NULL: ignore). */
	void (*candidate)(void *host, const struct hy_id *id,
	    const struct hy_addr *addr);
	/* Sign a record's to-be-signed bytes (PROTOCOL.md §8.1). */
	int (
	    *sign)(void *host, const uint8_t *tbs, size_t len, uint8_t sig[64]);
	/* Check a record: signature over its fields, and id == SHA-256 of
	 * its key's SPKI. Returns 0 when good. */
	int (*verify)(void *host, const struct hy_record *r);
};

/*
 * Configuration; hy_gossip_config_lan / _wan fill the two presets (the
 * defaults are LAN), then fields may be changed; hy_gossip_new checks them.
 */
struct hy_gossip_config {
	char network[HY_NETWORK_MAX + 1];
	uint64_t probe_interval_ms; /* LAN 1000, WAN 5000 */
	uint64_t probe_timeout_ms; /* direct ACK wait: LAN 500, WAN 3000 */
	uint64_t indirect_timeout_ms; /* helpers + TLS: LAN 1000, WAN 6000 */
	unsigned indirect_k; /* helpers per failed probe (3) */
	bool tls_probe; /* also probe over TLS after a miss (true) */
	unsigned suspicion_mult; /* min = mult*log10(n)*interval: LAN 2,
	                            WAN 4 */
	unsigned suspicion_max_mult; /* max = this * min (5) */
	unsigned suspicion_k; /* confirmations to reach min (3) */
	unsigned health_max; /* cap of the health multiplier (8) */
	unsigned health_evict_max; /* no down verdicts above this (2) */
	uint64_t stall_ms; /* a timer this late means we stalled: LAN 500,
	                      WAN 2000 */
	unsigned retransmit_mult; /* lambda: items go out
	                             lambda * ceil(log10(n + 1)) times (4) */
	uint64_t gossip_interval_ms; /* push queued items: LAN 200, WAN 1000 */
	unsigned gossip_fanout; /* members per push (3) */
	unsigned active_max; /* active set: members kept in sessions (8) */
	unsigned members_max; /* alive + suspect members (1024) */
	unsigned down_max; /* down contacts kept for re-probing (256) */
	uint64_t down_keep_ms; /* and for how long (24 h) */
	uint64_t reprobe_ms; /* re-probe one down contact this often:
	                        LAN 2000, WAN 10000 */
	unsigned probes_max; /* probes in progress (32) */
	unsigned relays_max; /* PROBE_REQs being served (64) */
	unsigned bcast_max; /* queued gossip items (512) */
	size_t piggyback_bytes; /* gossip bytes per message (900) */
	uint64_t record_refresh_ms; /* re-sign and re-spread the own
	                               record this often (10 min) */
};

struct hy_gossip_stats {
	uint64_t probes, probe_acks, probe_fails, indirect_probes, tls_probes;
	uint64_t indirect_acks, nacks, missed_nacks, inconclusive;
	uint64_t relays_served, relays_refused;
	uint64_t suspicions, refuted, downs, back_up, reprobes;
	uint64_t hints_in, hints_sent, confirmations, records_in, records_bad,
	    records_new, refutations_sent, candidates;
	uint64_t stalls, pushes;
	size_t alive, suspect, down, active;
	unsigned health;
};

/* A member as hy_gossip_foreach hands it out (by value). */
struct hy_gossip_member {
	struct hy_id id;
	struct hy_addr addr;
	int state; /* enum hy_member_state */
	uint64_t since_ms;
	uint64_t seq;
	unsigned confirmations;
	bool active;
	bool in_table;
};

struct hy_gossiper;

void hy_gossip_config_lan(struct hy_gossip_config *cfg);
void hy_gossip_config_wan(struct hy_gossip_config *cfg);

/*
 * Create the module for node self. cfg NULL: LAN defaults. host is copied.
 * Returns 0 and sets *out, HY_EINVAL (zero ID, missing host callback,
 * config out of range) or HY_ENOMEM.
 */
int hy_gossip_new(struct hy_gossiper **out, const struct hy_id *self,
    const struct hy_gossip_config *cfg, const struct hy_gossip_host *host,
    uint64_t rng_seed, uint64_t now_ms);
/* Free; outstanding cookies are forgotten. NULL is a no-op. */
void hy_gossip_free(struct hy_gossiper *g);

/*
 * Sign the own record: the public key, up to HY_RECORD_ADDRS_MAX addresses
 * and a starting sequence number (use wall-clock milliseconds so that a
 * restarted node outranks its old records; later refutations add one). The
 * record is queued for gossip. Returns 0, HY_EINVAL or the sign error.
 */
int hy_gossip_set_record(struct hy_gossiper *g,
    const uint8_t pubkey[HY_PUBKEY_LEN], const struct hy_addr *addrs, size_t n,
    uint64_t seq, uint64_t wall_ms, uint64_t now_ms);

/* A verified contact (it answered us): add it alive, or refresh it. */
void hy_gossip_add(struct hy_gossiper *g, const struct hy_id *id,
    const struct hy_addr *addr, bool in_table, uint64_t now_ms);
/* It left the routing table (in_table false) or came back (true). */
void hy_gossip_set_in_table(struct hy_gossiper *g, const struct hy_id *id,
    bool in_table);
/* Forget a member that is not down (e.g. a candidate the table dropped). */
void hy_gossip_remove(struct hy_gossiper *g, const struct hy_id *id);
/* Authenticated traffic from id: it is alive (refutes, brings back). */
void hy_gossip_heard(struct hy_gossiper *g, const struct hy_id *id,
    const struct hy_addr *addr, uint64_t now_ms);
/* Another request to id failed (e.g. a DHT query): probe it soon. */
void hy_gossip_hint_failed(struct hy_gossiper *g, const struct hy_id *id,
    uint64_t now_ms);

/*
 * A request arrived: PROBE (answered with ACK at once) or PROBE_REQ
 * (probes the target, answers ACK or NACK later, or ERROR 7 when it
 * cannot). Returns true if the type was one of those. Gossip items in req
 * are processed too.
 */
bool hy_gossip_on_request(struct hy_gossiper *g, const struct hy_msg *req,
    const struct hy_gossip_peer *from, uint64_t now_ms);
/* Gossip items of any other authenticated message (from_id its sender). */
void hy_gossip_on_items(struct hy_gossiper *g, const struct hy_msg *msg,
    const struct hy_id *from_id, uint64_t now_ms);
/* The outcome of a request (see top). */
void hy_gossip_on_response(struct hy_gossiper *g, uint64_t cookie, int err,
    const struct hy_msg *reply, uint64_t now_ms);

/* Run what is due; returns the next deadline (as next_deadline). */
uint64_t hy_gossip_tick(struct hy_gossiper *g, uint64_t now_ms);
uint64_t hy_gossip_next_deadline(const struct hy_gossiper *g);

/* Call cb for every member (alive, suspect, then down); stops on non-zero
 * and returns it. */
int hy_gossip_foreach(const struct hy_gossiper *g,
    int (*cb)(const struct hy_gossip_member *m, void *arg), void *arg);
/* The member id (HY_ENOENT if unknown). */
int hy_gossip_find(const struct hy_gossiper *g, const struct hy_id *id,
    struct hy_gossip_member *out);
unsigned hy_gossip_health(const struct hy_gossiper *g);
void hy_gossip_get_stats(const struct hy_gossiper *g,
    struct hy_gossip_stats *out);
/* The own record's current sequence number. */
uint64_t hy_gossip_seq(const struct hy_gossiper *g);

#endif /* HY_GOSSIP_H */
