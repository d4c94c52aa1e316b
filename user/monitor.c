// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * monitor: the module's events, one line each, until interrupted. When
 * the socket overruns (events lost), say so, print every reserved or
 * pending device as it is now ("state" lines), and go on.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "vfio-reserve.h"

/* Now, as RFC 3339: microseconds and the UTC offset (+01:00). */
static void vr_now(char *buf, size_t size)
{
	char date[32], zone[8];
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	if (strftime(zone, sizeof(zone), "%z", &tm) != 5)
		snprintf(zone, sizeof(zone), "+0000");
	snprintf(buf, size, "%s.%06ld%.3s:%s", date, (long)tv.tv_usec, zone,
		 zone + 3);
}

static int vr_print_event(const char *kind, const char *addr,
			  const char *driver, const char *rule, void *arg)
{
	const struct vr_opts *o = arg;
	struct vr_json j;
	char now[48];

	vr_now(now, sizeof(now));
	if (o->json) {
		vr_json_begin(&j, o, "monitor", NULL);
		vr_json_str(&j, "time", now);
		vr_json_str(&j, "event", kind);
		vr_json_opt_str(&j, "address", addr);
		vr_json_opt_str(&j, "driver", driver);
		vr_json_opt_str(&j, "rule", rule);
		return vr_json_end(&j);
	}
	if (o->timestamp)
		printf("[%s] ", now);
	printf("%-8s %s", kind, addr ? addr : "-");
	if (driver)
		printf(" driver %s", driver);
	if (rule)
		printf(" rule %s", rule);
	putchar('\n');
	fflush(stdout);
	return 0;
}

/* Events were lost: say so, then what is reserved now. */
static int vr_monitor_lost(void *arg)
{
	struct vr_facts f;
	size_t i;
	int ret;

	vr_err("monitor: the socket overran, events were lost; what is reserved now follows as \"state\" lines");
	ret = vr_print_event("lost", NULL, NULL, NULL, arg);
	if (ret)
		return ret;
	if (vr_nl_fetch("monitor", VR_WANT_DEVICES, &f))
		return -ENOENT;	/* said; the module is gone */
	for (i = 0; i < f.n && !ret; i++)
		if (f.devs[i].state == VFIO_RESERVE_STATE_RESERVED ||
		    f.devs[i].state == VFIO_RESERVE_STATE_PENDING)
			ret = vr_print_event("state", f.devs[i].addr,
					     f.devs[i].driver[0] ?
					     f.devs[i].driver : NULL,
					     f.devs[i].rule[0] ?
					     f.devs[i].rule : NULL, arg);
	vr_facts_free(&f);
	return ret;
}

int vr_cmd_monitor(const struct vr_opts *o, int argc, char **argv)
{
	struct vr_nl nl;
	int ret;

	(void)argv;
	if (argc > 1)
		return vr_usage_error("monitor", "no arguments expected");
	ret = vr_nl_open(&nl);
	if (ret)
		return vr_nl_fail(NULL, "monitor", ret);
	ret = vr_nl_monitor(&nl, vr_print_event, vr_monitor_lost, (void *)o);
	vr_nl_close(&nl);
	if (ret)
		return vr_nl_fail(NULL, "monitor", ret);
	return VR_EXIT_OK;
}
