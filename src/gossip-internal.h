/*
 * gossip-internal.h: the state shared by gossip.c (the view, records,
 * gossip items, events) and gossip-probe.c (probing, relays, pushes, the
 * active set). Not installed.
 */
#ifndef HY_GOSSIP_INTERNAL_H
#define HY_GOSSIP_INTERNAL_H

#include "bcast.h"
#include "gossip.h"
#include "health.h"
#include "rng.h"
#include "suspicion.h"

#define G_SEEN_MAX 1024 /* (kind, id, seq) of non-members' items handled */

struct gmem {
	bool used;
	uint8_t state; /* enum hy_member_state */
	bool in_table, active, soon;
	struct hy_id id;
	struct hy_addr addr;
	uint64_t since_ms;
	uint64_t seq; /* highest verified record seq */
	uint64_t hint_seq; /* hint relayed for this seq (+1; 0: none) */
	uint64_t last_probe_ms;
	uint64_t next_reprobe_ms; /* down: when to re-probe */
	unsigned reprobe_n; /* down: failed re-probes (backoff) */
	int probe; /* probe slot in progress, or -1 */
	struct hy_suspicion susp; /* valid while suspect */
	unsigned n_pre; /* hints heard while still alive */
	struct hy_id pre[HY_SUSPICION_K_MAX];
};

enum gprobe_kind {
	GP_PERIODIC = 1, /* the round-robin probe */
	GP_SOON, /* a hint or a failed request made us look */
	GP_SUSPECT, /* a suspect, probed again */
	GP_REPROBE, /* a down contact, probed for healing */
	GP_RELAY /* on behalf of a PROBE_REQ */
};

struct gprobe {
	bool used;
	uint8_t kind; /* enum gprobe_kind */
	uint8_t stage; /* 1 direct, 2 indirect + TLS */
	bool nack_missed; /* a helper sent neither ACK nor NACK */
	int m; /* member slot, or -1 */
	int relay; /* relay slot for GP_RELAY, else -1 */
	uint64_t serial;
	struct hy_id id;
	struct hy_addr addr;
	uint64_t start_ms, deadline_ms;
	uint32_t seq;
	unsigned outstanding; /* requests not yet answered */
	unsigned helpers;
};

struct grelay {
	bool used;
	struct hy_gossip_peer from;
	uint32_t txid;
	uint32_t seq;
	struct hy_id target;
};

enum gpend_what { PD_DIRECT = 1, PD_HELPER, PD_TLS, PD_PUSH };

struct gpend {
	bool used;
	uint8_t what; /* enum gpend_what */
	uint32_t gen;
	int probe; /* probe slot, -1 for pushes */
	uint64_t serial; /* the probe's serial when sent */
	struct hy_id to;
	struct hy_addr to_addr;
};

struct gseen {
	uint8_t kind;
	struct hy_id id;
	uint64_t seq;
};

struct hy_gossiper {
	struct hy_gossip_config cfg;
	struct hy_gossip_host host;
	struct hy_id self;
	struct hy_rng rng;
	struct hy_health health;
	struct hy_bcast *bc;
	struct hy_gossip_stats st;
	/* own record */
	bool have_record;
	struct hy_record rec;
	/* the view: members_max + down_max slots */
	struct gmem *mem;
	unsigned mem_cap;
	unsigned mem_hw; /* slots >= mem_hw are unused */
	unsigned n_live, n_down, n_active;
	unsigned cursor; /* round-robin probe position */
	unsigned *order; /* scratch: member slots in random order */
	/* probes, relays, pending requests */
	struct gprobe *probe;
	struct grelay *relay;
	struct gpend *pend;
	unsigned pend_cap;
	uint64_t next_serial;
	uint32_t next_seq;
	/* records of non-members already relayed (ring) */
	struct gseen seen[G_SEEN_MAX];
	unsigned seen_head, seen_len;
	/* timers */
	uint64_t next_probe_ms, next_push_ms, next_reprobe_ms, next_refresh_ms;
	uint64_t next_susp_ms; /* earliest suspicion deadline (lazy) */
	uint64_t due_ms; /* the deadline handed out last */
	uint64_t last_stall_ms; /* 0: never */
};

/* gossip.c */
int hy_g_find(const struct hy_gossiper *g, const struct hy_id *id);
void hy_g_event(struct hy_gossiper *g, enum hy_gossip_event ev,
    const struct gmem *m);
void hy_g_set_state(struct hy_gossiper *g, struct gmem *m, uint8_t st,
    uint64_t now_ms);
void hy_g_alive(struct hy_gossiper *g, struct gmem *m, uint64_t now_ms);
void hy_g_suspect(struct hy_gossiper *g, struct gmem *m, uint64_t now_ms);
void hy_g_down(struct hy_gossiper *g, struct gmem *m, uint64_t now_ms);
void hy_g_fill_items(struct hy_gossiper *g, struct hy_msg *msg);
unsigned hy_g_transmits(const struct hy_gossiper *g);
void hy_g_process_items(struct hy_gossiper *g, const struct hy_msg *msg,
    const struct hy_id *from, uint64_t now_ms);
int hy_g_msg(struct hy_gossiper *g, struct hy_msg *m, unsigned type);
bool hy_g_stalled_since(const struct hy_gossiper *g, uint64_t t);
void hy_g_set_active(struct hy_gossiper *g, struct gmem *m, bool on);

/* gossip-probe.c */
/* Start a probe of member mi (-1: none); its slot, or -1 when mi is
 * already being probed or every slot is taken. */
int hy_g_probe_start(struct hy_gossiper *g, int mi, enum gprobe_kind kind,
    uint64_t now_ms);
void hy_g_probe_response(struct hy_gossiper *g, struct gpend *p, int err,
    const struct hy_msg *reply, uint64_t now_ms);
void hy_g_probe_tick(struct hy_gossiper *g, uint64_t now_ms);
void hy_g_probe_drop_member(struct hy_gossiper *g, int mi);
bool hy_g_serve_probe_req(struct hy_gossiper *g, const struct hy_msg *req,
    const struct hy_gossip_peer *from, uint64_t now_ms);
void hy_g_push_tick(struct hy_gossiper *g, uint64_t now_ms);
void hy_g_active_tick(struct hy_gossiper *g, uint64_t now_ms);
uint64_t hy_g_probe_deadline(const struct hy_gossiper *g);

#endif /* HY_GOSSIP_INTERNAL_H */
