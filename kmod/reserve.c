// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Rules, reservations and the PCI bus notifier.
 *
 * Lock order, outermost first:
 *
 *   pci_rescan_remove_lock -> device_lock(any device) -> vr_lock
 *
 * The PCI core calls the bus notifier with the first two possibly held (a
 * hotplug slot, sriov_numvfs, a driver bind), so vr_lock is innermost: while
 * holding it the module never takes a device lock, never binds or unbinds a
 * driver, never calls request_module() and never waits for userspace. It
 * only reads and changes the rule and device lists. The notifier first
 * reads both under RCU alone (an RCU copy of the rules, the record list
 * walked with the _rcu helpers), and takes vr_lock only for a device a
 * rule may name or that has a record (vr_bus_notify()).
 *
 * Every bind and unbind the module does, and every decision that leads to
 * one, runs on one ordered work queue (vr_wq): the settle work and
 * netlink's CLAIM, RELEASE and RULE_ADD (vr_run_ordered()), one at a time
 * in the order they were queued, so two of them never act on one device
 * at once. The bus notifier sets driver_override (it must, before the
 * core probes a new device) but binds nothing; module init binds nothing
 * either and loads no module (vr_reserve_init()). The notifier's decision
 * for a new device is the one made off the queue: its record says so
 * (vr_dev.setting) until the override is set, and a release waits for that.
 */
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "reserve.h"

#define VR_STUB_DRIVER	"pci-stub"
/* xen-pciback's PCI driver (untested here: no Xen). */
#define VR_XEN_DRIVER	"pciback"
/*
 * The driver_override of a device reserved for a target not known to be
 * safe yet: the module's own name, which no PCI driver has, so nothing
 * binds the device until the target is loaded and checked (vr_settle()).
 */
#define VR_HOLD		KBUILD_MODNAME

/*
 * One matched device. Protected by vr_lock; the notifier may also walk the
 * list under RCU to learn that a device has no record (vr_has_record()),
 * so the list is changed with the _rcu helpers and records are freed after
 * a grace period.
 */
struct vr_dev {
	struct list_head node;		/* on vr_devs */
	struct list_head gone;		/* on a list of records to free */
	struct rcu_head rcu;
	struct pci_dev *pdev;		/* reference held */
	enum vfio_reserve_state state;
	char rule[VR_SEL_TEXT_SIZE];	/* what matched, or "claim" */
	char target[VR_DRV_NAME_SIZE];	/* the driver it is reserved for */
	char override[VR_DRV_NAME_SIZE];	/* set: @target or VR_HOLD */
	char prev_driver[VR_DRV_NAME_SIZE];	/* "" when none */
	enum vfio_reserve_target_error target_err;	/* last vr_settle() */
	const char *prev_override;	/* NULL when none */
	bool setting;			/* the notifier is setting the override */
};

/*
 * Protects the rules (vr_rule_sels, vr_rule_info, vr_nrules,
 * vr_next_rule_id) and vr_devs; innermost (see above).
 */
static DEFINE_MUTEX(vr_lock);
static LIST_HEAD(vr_devs);
/*
 * The rules in the order they were added. The selectors are an array of
 * their own so that matching is the helper's vr_sel_list_match().
 */
static struct vr_selector vr_rule_sels[VR_MAX_RULES];
static struct {
	enum vfio_reserve_origin origin;
	u64 id;
	char text[VR_SEL_TEXT_SIZE];	/* formatted once, when added */
} vr_rule_info[VR_MAX_RULES];
static unsigned int vr_nrules;
/*
 * A copy of vr_rule_sels for the notifier's test without vr_lock
 * (vr_rules_may_match()): replaced under vr_lock after every change, read
 * under RCU. NULL (no memory for a copy) sends every device to the test
 * under vr_lock.
 */
struct vr_rule_copy {
	struct rcu_head rcu;
	unsigned int n;
	struct vr_selector sels[];
};

static struct vr_rule_copy __rcu *vr_rules_rcu;
/* The id of the next rule added; never reused. */
static u64 vr_next_rule_id = 1;
/* Set once before init (vr_config_set()). */
static struct vr_config vr_config = { .reclaim = VR_RECLAIM_STUB };
/* Who hears of what happens to devices; set once in vr_reserve_init(). */
static vr_event_fn vr_event;
/* Set under vr_lock when the module stops: no work is queued after it. */
static bool vr_stopping;
/* The one ordered queue of binds and unbinds (see above). */
static struct workqueue_struct *vr_wq;
/* Bumped when a PCI function joins or leaves the bus list (dumps). */
static atomic_t vr_bus_gen = ATOMIC_INIT(0);

/**
 * vr_bus_generation() - changes whenever a PCI function was added or removed
 *
 * Read it before walking the bus: a walk that a hotplug overlapped sees a
 * different value afterwards.
 *
 * Return: the current generation.
 */
unsigned int vr_bus_generation(void)
{
	return (unsigned int)atomic_read(&vr_bus_gen);
}

static void vr_settle_fn(struct work_struct *work);
static DECLARE_WORK(vr_settle_work, vr_settle_fn);

/**
 * vr_run_ordered() - run @work on the module's ordered queue
 * @work: after everything queued before it, alone
 *
 * Return: false when the module is stopping (@work will not run).
 */
bool vr_run_ordered(struct work_struct *work)
{
	bool queued;

	mutex_lock(&vr_lock);
	queued = !vr_stopping && queue_work(vr_wq, work);
	mutex_unlock(&vr_lock);
	return queued;
}

static void vr_emit(enum vfio_reserve_event kind, struct pci_dev *pdev,
		    const char *driver, const char *rule)
{
	if (vr_event)
		vr_event(kind, pdev, driver, rule);
}

/**
 * vr_config_set() - the policy the parameters chose
 * @config: copied; before vr_reserve_init() only
 */
void vr_config_set(const struct vr_config *config)
{
	vr_config = *config;
}

/**
 * vr_config_get() - the policy in force
 * @config: gets a copy
 */
void vr_config_get(struct vr_config *config)
{
	*config = vr_config;
}

static void vr_schedule_settle(void)
{
	vr_run_ordered(&vr_settle_work);
}

/* reclaim= values, the parameter's and STATUS_GET's words. */
static const char *const vr_reclaim_names[] = {
	[VR_RECLAIM_NONE] = "none",
	[VR_RECLAIM_STUB] = "stub",
	[VR_RECLAIM_ALL] = "all",
};

const char *vr_reclaim_name(enum vr_reclaim r)
{
	return r < ARRAY_SIZE(vr_reclaim_names) ? vr_reclaim_names[r] : "?";
}

/* The policy named @s: 0, or -EINVAL when it names none. */
int vr_reclaim_parse(const char *s, enum vr_reclaim *r)
{
	int i = match_string(vr_reclaim_names, ARRAY_SIZE(vr_reclaim_names), s);

	if (i < 0)
		return i;
	*r = i;
	return 0;
}

static bool vr_registered(const char *target)
{
	return driver_find(target, &pci_bus_type);
}

/*
 * May @target hold a reserved device? vfio-pci and pci-stub by their names,
 * and xen-pciback's; any other driver once registered, and only if it
 * manages DMA itself (driver_managed_dma: vfio-pci-core's variants), as
 * only such a driver leaves the IOMMU group viable.
 *
 * Return: 1 yes, 0 not known yet (not registered), -EPERM never (a
 * registered driver that uses the kernel's DMA API: a native driver).
 */
static int vr_target_safe(const char *target)
{
	struct device_driver *drv;
	int safe = 0;

	if (!strcmp(target, VR_DRIVER) || !strcmp(target, VR_STUB_DRIVER) ||
	    !strcmp(target, VR_XEN_DRIVER))
		return 1;
	/* the driver's memory outlives an RCU grace period (vr_driver_peek()) */
	rcu_read_lock();
	drv = driver_find(target, &pci_bus_type);
	if (drv)
		safe = to_pci_driver(drv)->driver_managed_dma ? 1 : -EPERM;
	rcu_read_unlock();
	return safe;
}

/* The driver_override a reservation for @target sets now. */
static const char *vr_override_for(const char *target)
{
	return vr_target_safe(target) == 1 ? target : VR_HOLD;
}

/* The driver's name, read under the device lock. */
static void vr_driver_name(struct pci_dev *pdev, char *buf, size_t size)
{
	device_lock(&pdev->dev);
	strscpy(buf, pdev->dev.driver ? pdev->dev.driver->name : "", size);
	device_unlock(&pdev->dev);
}

static bool vr_bound_to(struct pci_dev *pdev, const char *name)
{
	char drv[VR_DRV_NAME_SIZE];

	vr_driver_name(pdev, drv, sizeof(drv));
	return !strcmp(drv, name);
}

static int vr_set_override(struct pci_dev *pdev, const char *s)
{
	return vr_override_set(&pdev->dev, s);
}

static struct vr_dev *vr_dev_find(struct pci_dev *pdev)
{
	struct vr_dev *vd;

	lockdep_assert_held(&vr_lock);
	list_for_each_entry(vd, &vr_devs, node)
		if (vd->pdev == pdev)
			return vd;
	return NULL;
}

/*
 * Is @target there, loaded now if need be (its module of that name), and
 * safe? Never from a netlink handler. @tried: the last target this settle
 * asked modprobe for, so that many devices cost one modprobe.
 */
static bool vr_load_target(struct pci_dev *pdev, const char *target,
			   char *tried, size_t size)
{
	enum vfio_reserve_target_error err = VFIO_RESERVE_TARGET_ERROR_OK;
	char rule[VR_SEL_TEXT_SIZE];
	struct vr_dev *vd;
	bool changed = false;

	if (!vr_registered(target) && strcmp(tried, target)) {
		strscpy(tried, target, size);
		request_module("%s", target);
	}
	if (vr_target_safe(target) < 0)
		err = VFIO_RESERVE_TARGET_ERROR_NOT_VFIO;
	else if (!vr_registered(target))
		err = VFIO_RESERVE_TARGET_ERROR_MISSING;
	/* said once, when it becomes so: settles are frequent */
	mutex_lock(&vr_lock);
	vd = vr_dev_find(pdev);
	if (vd && vd->target_err != err) {
		vd->target_err = err;
		strscpy(rule, vd->rule, sizeof(rule));
		changed = true;
	}
	mutex_unlock(&vr_lock);
	if (!changed || !err)
		return !err;
	if (err == VFIO_RESERVE_TARGET_ERROR_NOT_VFIO)
		pci_warn(pdev, "left unbound: %s is not a VFIO driver (it does not manage DMA itself)\n",
			 target);
	else
		pci_warn(pdev, "left unbound: cannot load %s (modprobe %s)\n",
			 target, target);
	vr_emit(VFIO_RESERVE_EVENT_TARGET_FAILED, pdev, target, rule);
	return false;
}

/*
 * Is @pdev still on the PCI bus's list of devices? The driver core takes a
 * device off it (bus_remove_device()) after BUS_NOTIFY_DEL_DEVICE and before
 * BUS_NOTIFY_REMOVED_DEVICE, and vr_forget() runs on both. So a record added
 * under vr_lock while the device is listed is forgotten by the second
 * notification at the latest, and one whose device is no longer listed
 * must not be added: a claim or scan that raced with a hot-remove.
 * Under vr_lock (a klist walk; no device lock).
 */
static bool vr_listed(struct pci_dev *pdev)
{
	struct pci_dev *found;

	lockdep_assert_held(&vr_lock);
	found = pci_get_domain_bus_and_slot(pci_domain_nr(pdev->bus),
					    pdev->bus->number, pdev->devfn);
	pci_dev_put(found);
	return found == pdev;
}

static void vr_dev_free(struct vr_dev *vd)
{
	if (!vd)
		return;
	pci_dev_put(vd->pdev);
	kfree(vd->prev_override);
	/* vr_has_record() may still be looking at it */
	kfree_rcu(vd, rcu);
}

/*
 * A record of @pdev as it is now, its driver and driver_override, to be
 * reserved for @target by @rule.
 */
static struct vr_dev *vr_dev_new(struct pci_dev *pdev, const char *rule,
				 const char *target)
{
	struct vr_dev *vd = kzalloc_obj(*vd, GFP_KERNEL);
	char *prev;

	if (!vd)
		return NULL;
	vd->pdev = pci_dev_get(pdev);
	strscpy(vd->rule, rule, sizeof(vd->rule));
	strscpy(vd->target, target, sizeof(vd->target));
	strscpy(vd->override, vr_override_for(target), sizeof(vd->override));
	device_lock(&pdev->dev);
	if (pdev->dev.driver)
		strscpy(vd->prev_driver, pdev->dev.driver->name,
			sizeof(vd->prev_driver));
	prev = vr_override_dup(&pdev->dev);
	device_unlock(&pdev->dev);
	if (IS_ERR(prev)) {
		vr_dev_free(vd);
		return NULL;
	}
	vd->prev_override = prev;
	return vd;
}

/*
 * The first inclusion that matches @pdev, unless an exclusion does, into
 * @rule, and its target driver into @target (VR_DRV_NAME_SIZE); under
 * vr_lock. A pinned rule whose address is @pdev's but whose ids are not is
 * reported: the device at that address changed.
 */
static bool vr_rules_match(struct pci_dev *pdev, const struct vr_pci_ids *id,
			   char *rule, size_t size, char *target)
{
	unsigned int i;
	int found;

	lockdep_assert_held(&vr_lock);
	for (i = 0; i < vr_nrules; i++) {
		if (!vr_sel_pin_differs(&vr_rule_sels[i], id))
			continue;
		strscpy(rule, vr_rule_info[i].text, size);
		pci_warn(pdev, "not reserved: rule %s is pinned to other ids than this device's %04x:%04x (renumbered?)\n",
			 rule, id->vendor, id->device);
	}
	found = vr_sel_list_match(vr_rule_sels, vr_nrules, id);
	if (found < 0)
		return false;
	strscpy(rule, vr_rule_info[found].text, size);
	strscpy(target, vr_rule_sels[found].driver[0] ?
		vr_rule_sels[found].driver : VR_DRIVER, VR_DRV_NAME_SIZE);
	return true;
}

/*
 * Give the notifier a copy of the rules as they are now; under vr_lock,
 * after every change. Without memory for it, the notifier tests every
 * device under vr_lock.
 */
static void vr_rules_publish(void)
{
	struct vr_rule_copy *copy, *old;

	lockdep_assert_held(&vr_lock);
	copy = kmalloc(struct_size(copy, sels, vr_nrules), GFP_KERNEL);
	if (copy) {
		copy->n = vr_nrules;
		memcpy(copy->sels, vr_rule_sels,
		       vr_nrules * sizeof(vr_rule_sels[0]));
	}
	old = rcu_replace_pointer(vr_rules_rcu, copy,
				  lockdep_is_held(&vr_lock));
	if (old)
		kfree_rcu(old, rcu);
}

/*
 * Could a rule match @id, or be pinned to its address with other ids?
 * Without vr_lock: false only if no rule in force since the notifier call
 * began does either. A rule added later finds the device by its own scan:
 * vr_rules_add() waits for this reader to finish before the scan starts.
 */
static bool vr_rules_may_match(const struct vr_pci_ids *id)
{
	const struct vr_rule_copy *copy;
	bool may = true;
	unsigned int i;

	rcu_read_lock();
	copy = rcu_dereference(vr_rules_rcu);
	if (copy) {
		may = vr_sel_list_match(copy->sels, copy->n, id) >= 0;
		for (i = 0; !may && i < copy->n; i++)
			may = vr_sel_pin_differs(&copy->sels[i], id);
	}
	rcu_read_unlock();
	return may;
}

/*
 * Might @pdev have a record? Without vr_lock, for the notifier: false when
 * none was listed at some moment during the call. A record being added
 * at the same time is the same race as with the lock taken a little
 * earlier; a record being freed may say true, and the caller then looks
 * under vr_lock.
 */
static bool vr_has_record(struct pci_dev *pdev)
{
	struct vr_dev *vd;
	bool found = false;

	rcu_read_lock();
	list_for_each_entry_rcu(vd, &vr_devs, node) {
		if (READ_ONCE(vd->pdev) == pdev) {
			found = true;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

/* May the module take @pdev from the driver it has now? */
static bool vr_may_take(const struct vr_dev *vd)
{
	if (!vd->prev_driver[0] || !strcmp(vd->prev_driver, vd->target) ||
	    !strcmp(vd->prev_driver, VR_DRIVER))
		return true;
	if (vr_config.reclaim == VR_RECLAIM_ALL)
		return true;
	return vr_config.reclaim == VR_RECLAIM_STUB &&
	       !strcmp(vd->prev_driver, VR_STUB_DRIVER);
}

static void vr_log_reserved(struct pci_dev *pdev, const char *rule,
			    const char *prev_driver, const char *target)
{
	if (prev_driver[0] && strcmp(prev_driver, target))
		pci_info(pdev, "reserved for %s by rule %s (taken from %s)\n",
			 target, rule, prev_driver);
	else
		pci_info(pdev, "reserved for %s by rule %s\n", target, rule);
	vr_emit(VFIO_RESERVE_EVENT_RESERVED, pdev, target, rule);
}

/*
 * A reservation whose driver_override could not be set is undone: a new
 * record (@drop) is dropped, a promoted one is pending again. Nothing is
 * left recorded as reserved without the override.
 */
static void vr_unreserve(struct pci_dev *pdev, bool drop)
{
	struct vr_dev *vd;

	mutex_lock(&vr_lock);
	vd = vr_dev_find(pdev);
	if (vd && vd->state == VFIO_RESERVE_STATE_RESERVED && drop) {
		list_del_rcu(&vd->node);
	} else {
		if (vd && vd->state == VFIO_RESERVE_STATE_RESERVED)
			vd->state = VFIO_RESERVE_STATE_PENDING;
		vd = NULL;
	}
	mutex_unlock(&vr_lock);
	vr_dev_free(vd);
}

/*
 * Match @pdev against the rules and, when it matches, record it and set its
 * driver_override. Binds nothing: a new device is probed by the core right
 * after the notifier, existing ones by vr_settle(). @added: called from
 * BUS_NOTIFY_ADD_DEVICE, when the device is on the bus list for sure (no
 * vr_listed() walk of every device for each one added).
 */
static void vr_consider(struct pci_dev *pdev, bool added)
{
	char rule[VR_SEL_TEXT_SIZE], prev[VR_DRV_NAME_SIZE];
	char target[VR_DRV_NAME_SIZE], override[VR_DRV_NAME_SIZE];
	enum vfio_reserve_state state;
	struct vr_pci_ids id;
	struct vr_dev *vd;
	bool matched;

	if (!vr_eligible(pdev))
		return;
	vr_pci_ids(pdev, &id);
	/* a device no rule names costs this test and no lock */
	if (!vr_rules_may_match(&id))
		return;
	mutex_lock(&vr_lock);
	matched = vr_rules_match(pdev, &id, rule, sizeof(rule), target) &&
		  !vr_dev_find(pdev);
	mutex_unlock(&vr_lock);
	if (!matched)
		return;
	if (vr_config.dry_run) {
		pci_info(pdev, "dry run: would reserve for %s by rule %s\n",
			 target, rule);
		return;
	}
	if (vr_group_in_use(pdev)) {
		pci_info(pdev, "matches rule %s but its IOMMU group is in use: left alone\n",
			 rule);
		return;
	}
	vd = vr_dev_new(pdev, rule, target);
	if (!vd) {
		pci_err(pdev, "out of memory, not reserved\n");
		return;
	}
	state = vr_may_take(vd) ? VFIO_RESERVE_STATE_RESERVED : VFIO_RESERVE_STATE_PENDING;
	vd->state = state;
	/* until the override is set: vr_release() waits for it (@added only) */
	vd->setting = added && state == VFIO_RESERVE_STATE_RESERVED;
	strscpy(prev, vd->prev_driver, sizeof(prev));
	strscpy(override, vd->override, sizeof(override));
	mutex_lock(&vr_lock);
	if (vr_dev_find(pdev) || (!added && !vr_listed(pdev))) {
		mutex_unlock(&vr_lock);
		vr_dev_free(vd);
		return;
	}
	list_add_tail_rcu(&vd->node, &vr_devs);
	mutex_unlock(&vr_lock);

	if (state == VFIO_RESERVE_STATE_PENDING) {
		pci_info(pdev, "matches rule %s but is bound to %s: pending (reclaim=%s; unbind it, or use reclaim=all or claim)\n",
			 rule, prev, vr_reclaim_name(vr_config.reclaim));
		vr_emit(VFIO_RESERVE_EVENT_PENDING, pdev, prev, rule);
		return;
	}
	if (vr_set_override(pdev, override)) {
		vr_unreserve(pdev, true);
		pci_err(pdev, "cannot set driver_override: not reserved\n");
		return;
	}
	if (added) {
		/* one notifier call per device: the record found is ours */
		mutex_lock(&vr_lock);
		vd = vr_dev_find(pdev);
		if (vd)
			vd->setting = false;
		mutex_unlock(&vr_lock);
	}
	vr_log_reserved(pdev, rule, prev, target);
	/* the core binds a new device now if it can; else load, or say why */
	if (added && (strcmp(override, target) || !vr_registered(target)))
		vr_schedule_settle();
}

/*
 * The target and the driver_override of @pdev's reserved record, into
 * VR_DRV_NAME_SIZE buffers. Return: whether it has one.
 */
static bool vr_reserved_for(struct pci_dev *pdev, char *target,
			    char *override)
{
	struct vr_dev *vd;
	bool found;

	mutex_lock(&vr_lock);
	vd = vr_dev_find(pdev);
	found = vd && vd->state == VFIO_RESERVE_STATE_RESERVED;
	if (found) {
		strscpy(target, vd->target, VR_DRV_NAME_SIZE);
		strscpy(override, vd->override, VR_DRV_NAME_SIZE);
	}
	mutex_unlock(&vr_lock);
	return found;
}

/*
 * Is @pdev's driver_override still @mine, the one its reservation set?
 * @now gets what it is. The caller holds the device lock.
 */
static bool vr_override_ours(struct pci_dev *pdev, const char *mine,
			     char *now, size_t size)
{
	return vr_override_copy(&pdev->dev, now, size) == strlen(mine) &&
	       !strcmp(now, mine);
}

/*
 * Someone else changed the driver_override of a reserved device (to @now):
 * the device is no longer ours. Its record goes, listeners hear "released",
 * and nothing the module does later unbinds the driver it has now.
 */
static void vr_disown(struct pci_dev *pdev, const char *now)
{
	struct vr_dev *vd;

	mutex_lock(&vr_lock);
	vd = vr_dev_find(pdev);
	if (vd && vd->state == VFIO_RESERVE_STATE_RESERVED)
		list_del_rcu(&vd->node);
	else
		vd = NULL;
	mutex_unlock(&vr_lock);
	if (!vd)
		return;
	pci_info(pdev, "driver_override changed to \"%s\" by someone else: no longer reserved\n",
		 now);
	vr_emit(VFIO_RESERVE_EVENT_RELEASED, pdev, now[0] ? now : NULL, vd->rule);
	vr_dev_free(vd);
}

/*
 * Bind a reserved device to its target, taking it from the driver it has
 * if that is what the reservation decided; a device held for a target not
 * loaded or not safe stays unbound. A device whose override someone else
 * changed is disowned instead, and left as it is. Never under vr_lock.
 */
static void vr_bind(struct pci_dev *pdev)
{
	char drv[VR_DRV_NAME_SIZE], now[VR_OVERRIDE_SIZE];
	char target[VR_DRV_NAME_SIZE], override[VR_DRV_NAME_SIZE];
	bool ours;
	int ret;

	if (!vr_reserved_for(pdev, target, override))
		return;
	device_lock(&pdev->dev);
	strscpy(drv, pdev->dev.driver ? pdev->dev.driver->name : "",
		sizeof(drv));
	ours = vr_override_ours(pdev, override, now, sizeof(now));
	device_unlock(&pdev->dev);
	if (!ours) {
		vr_disown(pdev, now);
		return;
	}
	if (!strcmp(drv, target))
		return;
	if (drv[0]) {
		if (vr_group_in_use(pdev)) {
			pci_warn(pdev, "left on %s: its IOMMU group is in use\n",
				 drv);
			return;
		}
		device_release_driver(&pdev->dev);
	}
	if (strcmp(override, target))
		return;	/* held: vr_settle() said why */
	ret = device_attach(&pdev->dev);
	if (ret <= 0 && vr_registered(target))
		pci_warn(pdev, "%s did not bind (%d)\n", target, ret);
}

/* Records to act on, with a reference each; under vr_lock. */
static struct pci_dev **vr_collect(unsigned int *n)
{
	struct pci_dev **devs;
	struct vr_dev *vd;
	unsigned int i = 0;

	lockdep_assert_held(&vr_lock);
	list_for_each_entry(vd, &vr_devs, node)
		i++;
	*n = 0;
	if (!i)
		return NULL;
	devs = kcalloc(i, sizeof(*devs), GFP_KERNEL);
	if (!devs)
		return NULL;
	list_for_each_entry(vd, &vr_devs, node)
		devs[(*n)++] = pci_dev_get(vd->pdev);
	return devs;
}

/* A pending device whose driver let go becomes reserved. */
static bool vr_promote(struct pci_dev *pdev)
{
	char drv[VR_DRV_NAME_SIZE], rule[VR_SEL_TEXT_SIZE];
	char target[VR_DRV_NAME_SIZE], override[VR_DRV_NAME_SIZE];
	struct vr_dev *vd;
	bool promoted = false;

	vr_driver_name(pdev, drv, sizeof(drv));
	mutex_lock(&vr_lock);
	vd = vr_dev_find(pdev);
	if (vd && vd->state == VFIO_RESERVE_STATE_PENDING && !drv[0]) {
		vd->state = VFIO_RESERVE_STATE_RESERVED;
		strscpy(vd->override, vr_override_for(vd->target),
			sizeof(vd->override));
		strscpy(rule, vd->rule, sizeof(rule));
		strscpy(target, vd->target, sizeof(target));
		strscpy(override, vd->override, sizeof(override));
		promoted = true;
	}
	mutex_unlock(&vr_lock);
	if (!promoted)
		return false;
	if (vr_set_override(pdev, override)) {
		vr_unreserve(pdev, false);
		pci_err(pdev, "cannot set driver_override: still pending\n");
		return false;
	}
	vr_log_reserved(pdev, rule, "", target);
	return true;
}

/*
 * A device held for its target (VR_HOLD) gets the target's name once the
 * target is loaded and safe; otherwise it stays held, and unbound.
 */
static void vr_release_hold(struct pci_dev *pdev, char *tried, size_t size)
{
	char target[VR_DRV_NAME_SIZE], override[VR_DRV_NAME_SIZE];
	struct vr_dev *vd;
	bool set = false;

	if (!vr_reserved_for(pdev, target, override) ||
	    !vr_load_target(pdev, target, tried, size) ||
	    strcmp(override, VR_HOLD))
		return;
	device_lock(&pdev->dev);
	mutex_lock(&vr_lock);
	vd = vr_dev_find(pdev);
	/* still held by this module: nobody changed the override meanwhile */
	if (vd && !strcmp(vd->override, VR_HOLD) &&
	    vr_override_ours(pdev, VR_HOLD, override, sizeof(override))) {
		strscpy(vd->override, target, sizeof(vd->override));
		set = true;
	}
	mutex_unlock(&vr_lock);
	device_unlock(&pdev->dev);
	/* not under the device lock: 6.1's driver_set_override() takes it */
	if (set && vr_set_override(pdev, target)) {
		pci_err(pdev, "cannot set driver_override to %s: left unbound\n",
			target);
		mutex_lock(&vr_lock);
		vd = vr_dev_find(pdev);
		if (vd)
			strscpy(vd->override, VR_HOLD, sizeof(vd->override));
		mutex_unlock(&vr_lock);
	}
}

static bool vr_in_state(struct pci_dev *pdev, enum vfio_reserve_state state)
{
	struct vr_dev *vd;
	bool ret;

	mutex_lock(&vr_lock);
	vd = vr_dev_find(pdev);
	ret = vd && vd->state == state;
	mutex_unlock(&vr_lock);
	return ret;
}

/*
 * Bring every reserved device onto its target, loading it if need be. On
 * the ordered queue.
 */
static void vr_settle(void)
{
	char tried[VR_DRV_NAME_SIZE] = "";
	struct pci_dev **devs;
	unsigned int n, i;

	mutex_lock(&vr_lock);
	devs = vr_collect(&n);
	mutex_unlock(&vr_lock);
	for (i = 0; i < n; i++)
		vr_promote(devs[i]);
	for (i = 0; i < n; i++)
		vr_release_hold(devs[i], tried, sizeof(tried));
	for (i = 0; i < n; i++) {
		if (vr_in_state(devs[i], VFIO_RESERVE_STATE_RESERVED))
			vr_bind(devs[i]);
		pci_dev_put(devs[i]);
	}
	kfree(devs);
}

static void vr_settle_fn(struct work_struct *work)
{
	vr_settle();
}

static int vr_scan_one(struct device *dev, void *data)
{
	vr_consider(to_pci_dev(dev), false);
	return 0;
}

/* Match every present device against the rules. */
static void vr_scan(void)
{
	vr_for_each_pci_dev(NULL, vr_scan_one);
}

static void vr_forget(struct pci_dev *pdev)
{
	struct vr_dev *vd;

	mutex_lock(&vr_lock);
	vd = vr_dev_find(pdev);
	if (vd)
		list_del_rcu(&vd->node);
	mutex_unlock(&vr_lock);
	if (!vd)
		return;
	pci_info(pdev, "removed while %s\n",
		 vd->state == VFIO_RESERVE_STATE_RESERVED ? "reserved" : "pending");
	vr_dev_free(vd);
}

/*
 * The PCI bus notifier: called for every PCI function the host adds or
 * removes, and at every bind and unbind, reserved or not (at boot, at
 * hotplug, for each SR-IOV VF), often with pci_rescan_remove_lock or the
 * device lock held. What it may do, and what it must never do:
 *
 * - For a device that no rule names and that has no record, only the
 *   rule test against the RCU copy (vr_rules_may_match()), the RCU look
 *   for a record (vr_has_record()) and the event's test for a listener:
 *   no vr_lock, no allocation, no log line, no config space access.
 * - For a device a rule names: the safety checks (eligible, group not in
 *   use) before its record is made, the record, the driver_override, one
 *   log line and the events. The override must be set here: the core
 *   probes a new device right after this call.
 * - Never bind or unbind a driver, load a module, or wait for userspace
 *   or for the ordered queue: that is vr_settle()'s work, queued
 *   (vr_schedule_settle()). The only device lock it takes is that of a
 *   device being added (vr_dev_new()), which the core does not hold then.
 */
static int vr_bus_notify(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	char target[VR_DRV_NAME_SIZE], override[VR_DRV_NAME_SIZE];
	char now[VR_OVERRIDE_SIZE];
	struct device *dev = data;
	struct pci_dev *pdev = to_pci_dev(dev);

	switch (action) {
	case BUS_NOTIFY_ADD_DEVICE:
		/* after bus_add_device(): a walk from now on sees it */
		atomic_inc(&vr_bus_gen);
		vr_emit(VFIO_RESERVE_EVENT_ADDED, pdev, NULL, NULL);
		vr_consider(pdev, true);
		break;
	case BUS_NOTIFY_DEL_DEVICE:
		vr_forget(pdev);
		vr_emit(VFIO_RESERVE_EVENT_REMOVED, pdev, NULL, NULL);
		break;
	case BUS_NOTIFY_REMOVED_DEVICE:
		/* after bus_remove_device(): a walk from now on misses it */
		atomic_inc(&vr_bus_gen);
		/* a record added while the device was leaving (vr_listed()) */
		vr_forget(pdev);
		break;
	case BUS_NOTIFY_BOUND_DRIVER:
		vr_emit(VFIO_RESERVE_EVENT_BOUND, pdev, dev->driver->name, NULL);
		/*
		 * Another driver could bind a reserved device only because the
		 * override changed; vr_disown() acts on reserved records only
		 * (the device lock is held here, as vr_override_ours() wants).
		 */
		if (vr_has_record(pdev) &&
		    vr_reserved_for(pdev, target, override) &&
		    strcmp(dev->driver->name, target) &&
		    !vr_override_ours(pdev, override, now, sizeof(now)))
			vr_disown(pdev, now);
		break;
	case BUS_NOTIFY_UNBIND_DRIVER:
		/* The last moment the driver's name is known; unbind cannot fail. */
		vr_emit(VFIO_RESERVE_EVENT_UNBOUND, pdev, dev->driver->name, NULL);
		break;
	case BUS_NOTIFY_UNBOUND_DRIVER:
		if (vr_in_state(pdev, VFIO_RESERVE_STATE_PENDING))
			vr_schedule_settle();
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block vr_bus_nb = {
	.notifier_call = vr_bus_notify,
};

/**
 * vr_claim() - reserve one device now, whatever the rules say
 * @pdev: the device
 * @extack: why it was refused, or NULL
 *
 * Takes the device from any driver but a user's, for vfio-pci, or for the
 * target of the rule that already matched it (never a variant downgraded
 * to vfio-pci). Idempotent. On the ordered queue only (vr_run_ordered()).
 *
 * Return: 0, or -EINVAL (not an endpoint), -EBUSY (in use), -ENODEV
 * (removed meanwhile), -EOPNOTSUPP (dry run), -ENOMEM, or what setting the
 * driver_override returned.
 */
int vr_claim(struct pci_dev *pdev, struct netlink_ext_ack *extack)
{
	char rule[VR_SEL_TEXT_SIZE], prev[VR_DRV_NAME_SIZE];
	char target[VR_DRV_NAME_SIZE], override[VR_DRV_NAME_SIZE];
	char tried[VR_DRV_NAME_SIZE] = "";
	struct vr_dev *vd, *old;
	bool was_pending = false;
	int ret;

	if (vr_config.dry_run) {
		NL_SET_ERR_MSG(extack, "the module was loaded with dry_run=1");
		return -EOPNOTSUPP;
	}
	if (!vr_eligible(pdev)) {
		NL_SET_ERR_MSG(extack, "bridges and non-endpoint functions are never reserved");
		return -EINVAL;
	}
	if (vr_group_in_use(pdev)) {
		NL_SET_ERR_MSG(extack, "its IOMMU group is in use by a VFIO user");
		return -EBUSY;
	}
	vd = vr_dev_new(pdev, VR_CLAIM_RULE, VR_DRIVER);
	if (!vd)
		return -ENOMEM;
	vd->state = VFIO_RESERVE_STATE_RESERVED;
	mutex_lock(&vr_lock);
	if (!vr_listed(pdev)) {
		mutex_unlock(&vr_lock);
		vr_dev_free(vd);
		NL_SET_ERR_MSG(extack, "the device is being removed");
		return -ENODEV;
	}
	old = vr_dev_find(pdev);
	if (old) {
		was_pending = old->state == VFIO_RESERVE_STATE_PENDING;
		old->state = VFIO_RESERVE_STATE_RESERVED;
		if (was_pending)
			strscpy(old->override, vr_override_for(old->target),
				sizeof(old->override));
		strscpy(rule, old->rule, sizeof(rule));
		strscpy(prev, old->prev_driver, sizeof(prev));
		strscpy(target, old->target, sizeof(target));
		strscpy(override, old->override, sizeof(override));
	} else {
		list_add_tail_rcu(&vd->node, &vr_devs);
		strscpy(rule, vd->rule, sizeof(rule));
		strscpy(prev, vd->prev_driver, sizeof(prev));
		strscpy(target, vd->target, sizeof(target));
		strscpy(override, vd->override, sizeof(override));
		vd = NULL;
	}
	mutex_unlock(&vr_lock);
	vr_dev_free(vd);
	ret = vr_set_override(pdev, override);
	if (ret) {
		if (!old || was_pending)
			vr_unreserve(pdev, !old);
		NL_SET_ERR_MSG(extack, "cannot set driver_override");
		return ret;
	}
	if (!old || was_pending)
		vr_log_reserved(pdev, rule, prev, target);
	vr_release_hold(pdev, tried, sizeof(tried));
	vr_bind(pdev);
	return 0;
}

/**
 * vr_release() - give a reserved device back
 * @pdev: the device
 * @extack: why it was refused, or NULL
 *
 * Restores the previous driver_override, unbinds vfio-pci and lets the
 * core probe the device again (the native driver, when it is loaded).
 * Refused while a user holds the group: a running VM never loses a device.
 * On the ordered queue only (vr_run_ordered()).
 *
 * Return: 0, or -ENOENT (not reserved), -EBUSY (in use), -EAGAIN (being
 * added), -ENOMEM.
 */
int vr_release(struct pci_dev *pdev, struct netlink_ext_ack *extack)
{
	struct vr_dev *vd;
	int ret, tries;

	if (vr_group_in_use(pdev)) {
		NL_SET_ERR_MSG(extack,
			       "its IOMMU group is in use by a VFIO user (a VM): stop it first");
		return -EBUSY;
	}
	mutex_lock(&vr_lock);
	vd = vr_dev_find(pdev);
	/*
	 * A device the notifier has just recorded, whose override it is
	 * setting: releasing it now would restore an override that the
	 * notifier then overwrites. The notifier waits for nothing; wait for
	 * it (the ordered queue runs only this).
	 */
	for (tries = 0; vd && vd->setting && tries < 100; tries++) {
		mutex_unlock(&vr_lock);
		usleep_range(1000, 2000);
		mutex_lock(&vr_lock);
		vd = vr_dev_find(pdev);
	}
	if (vd && vd->setting) {
		mutex_unlock(&vr_lock);
		NL_SET_ERR_MSG(extack, "the device is being added: try again");
		return -EAGAIN;
	}
	if (vd)
		list_del_rcu(&vd->node);
	mutex_unlock(&vr_lock);
	if (!vd) {
		NL_SET_ERR_MSG(extack, "the device is not reserved");
		return -ENOENT;
	}
	if (vd->state == VFIO_RESERVE_STATE_PENDING) {
		pci_info(pdev, "pending reservation dropped\n");
		vr_dev_free(vd);
		return 0;
	}
	ret = vr_set_override(pdev, vd->prev_override);
	if (ret) {
		/* a reader of the list may still be on it (vr_has_record()) */
		synchronize_rcu();
		mutex_lock(&vr_lock);
		if (vr_listed(pdev) && !vr_dev_find(pdev)) {
			list_add_tail_rcu(&vd->node, &vr_devs);
			vd = NULL;
		}
		mutex_unlock(&vr_lock);
		vr_dev_free(vd);
		NL_SET_ERR_MSG(extack, "cannot restore driver_override");
		return ret;
	}
	if (vr_bound_to(pdev, vd->target))
		device_release_driver(&pdev->dev);
	pci_info(pdev, "released (driver_override %s)\n",
		 vd->prev_override ? vd->prev_override : "cleared");
	vr_emit(VFIO_RESERVE_EVENT_RELEASED, pdev, NULL, vd->rule);
	if (device_attach(&pdev->dev) < 0)
		pci_info(pdev, "no driver took it back\n");
	vr_dev_free(vd);
	return 0;
}

/**
 * vr_reservation_get() - what the module did with @pdev, into @f
 * @pdev: the device
 * @f: its state, rule and previous driver are set when it has a record
 */
void vr_reservation_get(struct pci_dev *pdev, struct vr_facts *f)
{
	struct vr_dev *vd;

	mutex_lock(&vr_lock);
	vd = vr_dev_find(pdev);
	if (vd) {
		f->state = vd->state;
		strscpy(f->rule, vd->rule, sizeof(f->rule));
		strscpy(f->prev_driver, vd->prev_driver,
			sizeof(f->prev_driver));
		strscpy(f->target, vd->target, sizeof(f->target));
		f->target_err = vd->target_err;
	}
	mutex_unlock(&vr_lock);
}

/**
 * vr_reservation_count() - how many devices are reserved, pending, and
 * reserved but refused by their target
 * @t: gets them in reserved, pending and target_failed
 */
void vr_reservation_count(struct vr_totals *t)
{
	struct vr_dev *vd;

	t->reserved = 0;
	t->pending = 0;
	t->target_failed = 0;
	mutex_lock(&vr_lock);
	list_for_each_entry(vd, &vr_devs, node) {
		if (vd->state == VFIO_RESERVE_STATE_RESERVED)
			t->reserved++;
		else
			t->pending++;
		if (vd->target_err)
			t->target_failed++;
	}
	mutex_unlock(&vr_lock);
}

unsigned int vr_rules_count(void)
{
	unsigned int n;

	mutex_lock(&vr_lock);
	n = vr_nrules;
	mutex_unlock(&vr_lock);
	return n;
}

/* Drop the selectors of @sels that repeat an earlier one; the count left. */
static int vr_sels_unique(struct vr_selector *sels, int n)
{
	int i, j, kept = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < kept; j++)
			if (vr_sel_equal(&sels[j], &sels[i]))
				break;
		if (j == kept)
			sels[kept++] = sels[i];
	}
	return kept;
}

/* The index of the rule equal to @sel, or -1; under vr_lock. */
static int vr_rule_find(const struct vr_selector *sel)
{
	char text[VR_SEL_TEXT_SIZE];
	unsigned int i;

	lockdep_assert_held(&vr_lock);
	/* equal is the same text (vr_sel_equal()): formatted once here */
	vr_sel_format(sel, text, sizeof(text));
	for (i = 0; i < vr_nrules; i++)
		if (!strcmp(vr_rule_info[i].text, text))
			return (int)i;
	return -1;
}

/*
 * Parse @list into @sels (VR_SEL_LIST_MAX), repeats dropped. "@auto" is
 * refused: the helper chooses the driver and gives its name.
 */
static int vr_parse_unique(const char *list, struct vr_selector *sels,
			   struct vr_sel_error *err)
{
	int n = vr_sel_parse_list(list, sels, VR_SEL_LIST_MAX, err);

	if (n > 0 && vr_sel_list_named(list, sels, n, err))
		return -EINVAL;
	return n < 0 ? n : vr_sels_unique(sels, n);
}

/**
 * vr_rules_add() - add a selector list to the rules, all or nothing
 * @list: the comma separated list
 * @origin: parameter or run time
 * @err: describes a parse error
 *
 * Rules already present, and selectors that repeat one earlier in @list,
 * are skipped and not counted. Devices present that match a new rule are
 * reserved as at load time.
 *
 * Return: the number of rules added, or -EINVAL, -ENOSPC, -ENOMEM.
 */
int vr_rules_add(const char *list, enum vfio_reserve_origin origin,
		 struct vr_sel_error *err)
{
	struct vr_selector *sels;
	int n, i, added = 0;

	sels = kcalloc(VR_SEL_LIST_MAX, sizeof(*sels), GFP_KERNEL);
	if (!sels)
		return -ENOMEM;
	n = vr_parse_unique(list, sels, err);
	if (n < 0)
		goto out;
	mutex_lock(&vr_lock);
	for (i = 0; i < n; i++)
		if (vr_rule_find(&sels[i]) < 0)
			added++;
	if (vr_nrules + added > VR_MAX_RULES) {
		mutex_unlock(&vr_lock);
		n = -ENOSPC;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (vr_rule_find(&sels[i]) >= 0)
			continue;
		vr_rule_sels[vr_nrules] = sels[i];
		vr_rule_info[vr_nrules].origin = origin;
		vr_rule_info[vr_nrules].id = vr_next_rule_id++;
		vr_sel_format(&sels[i], vr_rule_info[vr_nrules].text,
			      sizeof(vr_rule_info[0].text));
		vr_nrules++;
	}
	if (added)
		vr_rules_publish();
	mutex_unlock(&vr_lock);
	/*
	 * A notifier call that tested a device against the old copy is over
	 * before the caller's scan (vr_rules_apply()) walks the bus, and that
	 * device was on the bus before the call: the scan finds it.
	 */
	if (added)
		synchronize_rcu();
	n = added;
out:
	kfree(sels);
	return n;
}

/**
 * vr_rule_get() - a copy of the first rule from an id on
 * @from: the smallest id wanted
 * @rule: gets the rule
 *
 * Ids grow along the rules, so a caller that resumes after the id of the
 * last rule it saw neither repeats nor skips one that stays.
 *
 * Return: whether there was one.
 */
bool vr_rule_get(u64 from, struct vr_rule *rule)
{
	bool found = false;
	unsigned int i;

	mutex_lock(&vr_lock);
	for (i = 0; i < vr_nrules; i++) {
		if (vr_rule_info[i].id < from)
			continue;
		rule->sel = vr_rule_sels[i];
		rule->origin = vr_rule_info[i].origin;
		rule->id = vr_rule_info[i].id;
		found = true;
		break;
	}
	mutex_unlock(&vr_lock);
	return found;
}

void vr_rules_clear(void)
{
	struct vr_rule_copy *old;

	mutex_lock(&vr_lock);
	vr_nrules = 0;
	old = rcu_replace_pointer(vr_rules_rcu, NULL,
				  lockdep_is_held(&vr_lock));
	mutex_unlock(&vr_lock);
	if (old)
		kfree_rcu(old, rcu);
}

/* Reserve what run-time rule changes match; on the ordered queue only. */
void vr_rules_apply(void)
{
	vr_scan();
	vr_settle();
}

/* Remove rule @i, keeping the order of the others; under vr_lock. */
static void vr_rule_remove(unsigned int i)
{
	lockdep_assert_held(&vr_lock);
	vr_nrules--;
	memmove(&vr_rule_sels[i], &vr_rule_sels[i + 1],
		(vr_nrules - i) * sizeof(vr_rule_sels[0]));
	memmove(&vr_rule_info[i], &vr_rule_info[i + 1],
		(vr_nrules - i) * sizeof(vr_rule_info[0]));
}

/**
 * vr_rules_del() - remove rules, all or nothing
 * @list: selectors, each equal to a rule present
 * @err: describes a parse error
 *
 * Reserved devices stay reserved; pending ones that came from a removed
 * rule are forgotten. A selector given twice removes its rule once.
 *
 * Return: the number of rules removed, or -EINVAL, -ENOENT, -ENOMEM.
 */
int vr_rules_del(const char *list, struct vr_sel_error *err)
{
	char text[VR_SEL_TEXT_SIZE];
	struct vr_dev *vd, *vtmp;
	struct vr_selector *sels;
	LIST_HEAD(dropped);
	int n, i;

	sels = kcalloc(VR_SEL_LIST_MAX, sizeof(*sels), GFP_KERNEL);
	if (!sels)
		return -ENOMEM;
	n = vr_parse_unique(list, sels, err);
	if (n < 0)
		goto out;
	mutex_lock(&vr_lock);
	for (i = 0; i < n; i++) {
		if (vr_rule_find(&sels[i]) < 0) {
			mutex_unlock(&vr_lock);
			n = -ENOENT;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		vr_rule_remove((unsigned int)vr_rule_find(&sels[i]));
		vr_sel_format(&sels[i], text, sizeof(text));
		list_for_each_entry_safe(vd, vtmp, &vr_devs, node) {
			if (vd->state == VFIO_RESERVE_STATE_PENDING &&
			    !strcmp(vd->rule, text)) {
				list_del_rcu(&vd->node);
				list_add_tail(&vd->gone, &dropped);
			}
		}
	}
	vr_rules_publish();
	mutex_unlock(&vr_lock);
	list_for_each_entry_safe(vd, vtmp, &dropped, gone)
		vr_dev_free(vd);
out:
	kfree(sels);
	return n;
}

/*
 * Register the notifier, then reserve what is already there. Binding them,
 * and loading vfio-pci for that, is left to the work item: a
 * request_module() from init would wait for a modprobe that can itself
 * wait for this init to end ("softdep vfio_pci pre: vfio_reserve" and a
 * modprobe of vfio-pci that loaded this module first).
 */
int vr_reserve_init(vr_event_fn event)
{
	int ret;

	vr_event = event;
	vr_wq = alloc_ordered_workqueue(KBUILD_MODNAME, 0);
	if (!vr_wq)
		return -ENOMEM;
	/* the copy of the rules, even when devices= added none */
	mutex_lock(&vr_lock);
	vr_rules_publish();
	mutex_unlock(&vr_lock);
	ret = bus_register_notifier(&pci_bus_type, &vr_bus_nb);
	if (ret) {
		destroy_workqueue(vr_wq);
		return ret;
	}
	vr_scan();
	vr_schedule_settle();
	return 0;
}

/*
 * No more notifier calls; what was queued is done (netlink requests get
 * their answers) and nothing more is queued. Netlink may still call in.
 */
void vr_reserve_stop(void)
{
	bus_unregister_notifier(&pci_bus_type, &vr_bus_nb);
	mutex_lock(&vr_lock);
	vr_stopping = true;
	mutex_unlock(&vr_lock);
	flush_workqueue(vr_wq);
}

/* Forget everything; bindings stay as they are. */
void vr_reserve_exit(void)
{
	struct vr_dev *vd, *tmp;
	unsigned int kept = 0;

	mutex_lock(&vr_lock);
	list_for_each_entry_safe(vd, tmp, &vr_devs, node) {
		list_del_rcu(&vd->node);
		if (vd->state == VFIO_RESERVE_STATE_RESERVED) {
			pci_info(vd->pdev, "stays reserved for %s after unload (driver_override %s)\n",
				 vd->target, vd->override);
			kept++;
		}
		vr_dev_free(vd);
	}
	mutex_unlock(&vr_lock);
	destroy_workqueue(vr_wq);
	if (kept)
		pr_info("unloaded: %u devices keep their driver_override\n",
			kept);
}
