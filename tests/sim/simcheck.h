/*
 * simcheck.h: Check assertions for simulations that name the seed, so a
 * failing run can be replayed with HY_SIM_SEED=N (test code).
 */
#ifndef SIMCHECK_H
#define SIMCHECK_H

#include <inttypes.h>

#include <check.h>

#include "simnet.h"

/* ck_assert_msg that reports the seed and the simulated time on failure. */
#define SIM_CK_ASSERT(sim, expr)                                               \
	ck_assert_msg((expr),                                                  \
	    "Assertion '%s' failed: seed=%" PRIu64 " t=%" PRIu64               \
	    " ms (replay: HY_SIM_SEED=%" PRIu64 ")",                           \
	    #expr, simnet_seed(sim), simnet_now(sim), simnet_seed(sim))

/* Unsigned comparison that prints both values, the seed and the time. */
#define SIM_CK_ASSERT_UINT(sim, a, op, b)                                      \
	do {                                                                   \
		uint64_t sim_ck_a_ = (a), sim_ck_b_ = (b);                     \
		ck_assert_msg(sim_ck_a_ op sim_ck_b_,                          \
		    "Assertion '%s %s %s' failed: %" PRIu64 " vs %" PRIu64     \
		    ", seed=%" PRIu64 " t=%" PRIu64                            \
		    " ms (replay: HY_SIM_SEED=%" PRIu64 ")",                   \
		    #a, #op, #b, sim_ck_a_, sim_ck_b_, simnet_seed(sim),       \
		    simnet_now(sim), simnet_seed(sim));                        \
	} while (0)

#endif /* SIMCHECK_H */
