// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Module parameters, init and exit.
 *
 * Init order: parameters -> rules, generic netlink family, bus notifier and
 * the scan of present devices. Exit first stops the notifier and the work
 * it queues, then removes the family (no handler runs after that), then
 * forgets devices and rules. No binding changes: reserved devices stay on
 * vfio-pci.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "main.h"
#include "netlink.h"
#include "reserve.h"
#include "version.h"

static char *devices = "";
module_param(devices, charp, 0444);
MODULE_PARM_DESC(devices,
		 "Devices to reserve for vfio-pci at probe time: a comma separated selector list, e.g. 0000:03:00.0,8086:10d3,!0000:00:19.0,class:0108,vf:0000:02:00.0 (see vfio_reserve(4)). A list with one bad selector is rejected whole and nothing is reserved.");

static char *reclaim = "stub";
module_param(reclaim, charp, 0444);
MODULE_PARM_DESC(reclaim,
		 "Which bound devices a rule may take: none (unbound only), stub (also from pci-stub; default), all (also from native drivers). Others are reported pending.");

static bool dry_run;
module_param(dry_run, bool, 0444);
MODULE_PARM_DESC(dry_run, "Log what would be reserved and change nothing");

char vr_config_error[VR_CONFIG_ERROR_SIZE];

/* Bad parameters reserve nothing: the module loads with no rules. */
static void __init vr_apply_params(void)
{
	struct vr_config config = {
		.reclaim = VR_RECLAIM_STUB,
		.dry_run = dry_run,
	};
	struct vr_sel_error err = { };
	char text[VR_CONFIG_ERROR_SIZE - 16];
	int ret;

	ret = vr_reclaim_parse(reclaim, &config.reclaim);
	vr_config_set(&config);
	if (ret) {
		snprintf(vr_config_error, sizeof(vr_config_error),
			 "reclaim=%.32s: expected none, stub or all", reclaim);
		pr_err("%s; nothing is reserved\n", vr_config_error);
		return;
	}
	ret = vr_rules_add(devices, VFIO_RESERVE_ORIGIN_PARAM, &err);
	if (ret == -EINVAL) {
		vr_sel_format_error(&err, text, sizeof(text));
		snprintf(vr_config_error, sizeof(vr_config_error),
			 "devices=: %s", text);
		pr_err("%s; the whole list is rejected, nothing is reserved\n",
		       vr_config_error);
	} else if (ret < 0) {
		snprintf(vr_config_error, sizeof(vr_config_error),
			 "devices=: cannot add rules (%d)", ret);
		pr_err("%s; nothing is reserved\n", vr_config_error);
	}
}

static int __init vr_init(void)
{
	struct vr_config config;
	int ret;

	/*
	 * The family last: no request reaches a half-made module, and the
	 * events of the first reservations go nowhere (vr_nl_ready).
	 */
	vr_apply_params();
	ret = vr_reserve_init(vr_nl_event);
	if (ret)
		goto err_rules;
	ret = vr_nl_init();
	if (ret)
		goto err_reserve;
	vr_config_get(&config);
	pr_info("version %s loaded: %u rules, reclaim=%s%s\n", VR_VERSION,
		vr_rules_count(), vr_reclaim_name(config.reclaim),
		config.dry_run ? ", dry run" : "");
	return 0;

err_reserve:
	vr_reserve_stop();
	vr_reserve_exit();
err_rules:
	vr_rules_clear();
	return ret;
}

static void __exit vr_exit(void)
{
	vr_reserve_stop();
	vr_nl_exit();
	vr_reserve_exit();
	vr_rules_clear();
}

module_init(vr_init);
module_exit(vr_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Reserve PCI devices for vfio-pci at probe time");
MODULE_AUTHOR("The vfio-reserve authors");
MODULE_VERSION(VR_VERSION);
MODULE_SOFTDEP("post: vfio-pci");
/*
 * No MODULE_ALIAS_GENL_FAMILY: loading applies the devices= of modprobe.d
 * and binds devices, and resolving a family is open to every user. Root
 * loads the module (at boot, or the helper's writes run modprobe).
 */
