// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * monitor: the module's events, one line each, until interrupted.
 */
#include <stdio.h>

#include "vfio-reserve.h"

static int vr_print_event(const char *kind, const char *addr,
			  const char *driver, const char *rule, void *arg)
{
	const struct vr_opts *o = arg;
	struct vr_json j;

	if (o->json) {
		vr_json_init(&j, o);
		vr_json_open(&j, NULL, '{');
		vr_json_str(&j, "event", kind);
		vr_json_str(&j, "address", addr);
		if (driver)
			vr_json_str(&j, "driver", driver);
		else
			vr_json_null(&j, "driver");
		if (rule)
			vr_json_str(&j, "rule", rule);
		else
			vr_json_null(&j, "rule");
		vr_json_close(&j, '}');
		vr_json_end(&j);
		return 0;
	}
	printf("%-8s %s", kind, addr);
	if (driver)
		printf(" driver %s", driver);
	if (rule)
		printf(" rule %s", rule);
	putchar('\n');
	fflush(stdout);
	return 0;
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
	ret = vr_nl_monitor(&nl, vr_print_event, (void *)o);
	vr_nl_close(&nl);
	if (ret)
		return vr_nl_fail(NULL, "monitor", ret);
	return VR_EXIT_OK;
}
