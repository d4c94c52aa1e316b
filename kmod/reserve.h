/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Rules, reservations and the PCI bus notifier.
 */
#ifndef VR_RESERVE_H
#define VR_RESERVE_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/workqueue.h>

#include "selector.h"
#include "uapi/linux/vfio_reserve.h"

#define VR_DRIVER		"vfio-pci"
#define VR_DRV_NAME_SIZE	32
#define VR_CLAIM_RULE		"claim"
#define VR_MAX_RULES		256

enum vr_reclaim {
	VR_RECLAIM_NONE,	/* only devices with no driver */
	VR_RECLAIM_STUB,	/* ... or bound to pci-stub */
	VR_RECLAIM_ALL,		/* ... or bound to any driver */
};

struct vr_rule {
	struct list_head node;
	struct vr_selector sel;
	enum vfio_reserve_origin origin;
	u64 id;			/* grows along vr_rules: a dump's cursor */
};

/* One matched device. Protected by vr_lock. */
struct vr_dev {
	struct list_head node;
	struct pci_dev *pdev;		/* reference held */
	enum vfio_reserve_state state;
	char rule[VR_SEL_TEXT_SIZE];	/* what matched, or "claim" */
	char prev_driver[VR_DRV_NAME_SIZE];	/* "" when none */
	const char *prev_override;	/* NULL when none */
	bool setting;			/* the notifier is setting the override */
};

struct vr_config {
	enum vr_reclaim reclaim;
	bool dry_run;
};

extern struct mutex vr_lock;
extern struct list_head vr_rules;
extern struct list_head vr_devs;
extern struct vr_config vr_config;

int vr_reserve_init(void);
bool vr_run_ordered(struct work_struct *work);
unsigned int vr_bus_generation(void);
void vr_reserve_stop(void);
void vr_reserve_exit(void);

int vr_rules_add(const char *list, enum vfio_reserve_origin origin,
		 struct vr_sel_error *err);
int vr_rules_del(const char *list, struct vr_sel_error *err);
unsigned int vr_rules_count(void);
void vr_rules_apply(void);
void vr_rules_clear(void);

int vr_claim(struct pci_dev *pdev, const char **why);
int vr_release(struct pci_dev *pdev, const char **why);

struct vr_dev *vr_dev_find(struct pci_dev *pdev);
void vr_pci_ids(struct pci_dev *pdev, struct vr_pci_ids *id);
bool vr_group_in_use(struct pci_dev *pdev);
bool vr_eligible(struct pci_dev *pdev);
const char *vr_reclaim_name(enum vr_reclaim r);
int vr_reclaim_parse(const char *s, enum vr_reclaim *r);

#endif /* VR_RESERVE_H */
