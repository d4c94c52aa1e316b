// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * A native driver for QEMU's pci-testdev (1b36:0005), for the VM tests
 * only. With genl=1 its probe registers a generic netlink family and its
 * remove unregisters it, as drivers that load a genl-registering module do:
 * both take genl's cb_lock for writing, so neither may run while a netlink
 * handler holds it. probe_delay_ms (writable at run time) keeps a probe,
 * and with it the device lock, busy for that long first. leak (writable at
 * run time) makes each probe lose 64 bytes on purpose: the positive control
 * of the debug tier's kmemleak checks. nop_notifier registers a PCI bus
 * notifier that does nothing: the benchmarks time it as they time the
 * module's, and so learn what the tracer and the call cost by themselves.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <net/genetlink.h>

static bool genl;
module_param(genl, bool, 0444);
MODULE_PARM_DESC(genl, "register a genl family while a device is bound");

static unsigned int probe_delay_ms;
module_param(probe_delay_ms, uint, 0644);
MODULE_PARM_DESC(probe_delay_ms, "sleep this long in probe, device locked");

static bool leak;
module_param(leak, bool, 0644);
MODULE_PARM_DESC(leak, "lose 64 bytes in each probe (kmemleak's control)");

static bool nop_notifier;
module_param(nop_notifier, bool, 0444);
MODULE_PARM_DESC(nop_notifier, "register a PCI bus notifier that does nothing (the benchmarks' control)");

/* Protects vt_bound; the family is registered while it is not 0. */
static DEFINE_MUTEX(vt_lock);
static unsigned int vt_bound;

static int vt_nop(struct sk_buff *skb, struct genl_info *info)
{
	return 0;
}

static const struct genl_small_ops vt_ops[] = {
	{ .cmd = 1, .doit = vt_nop },
};

static struct genl_family vt_family = {
	.name = KBUILD_MODNAME,
	.version = 1,
	.module = THIS_MODULE,
	.small_ops = vt_ops,
	.n_small_ops = ARRAY_SIZE(vt_ops),
	.resv_start_op = 2,
};

/* 64 bytes nothing points to: only whether they were allocated is kept. */
static noinline bool vt_leak(void)
{
	return kmalloc(64, GFP_KERNEL);
}

static int vt_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	int ret = 0;

	if (READ_ONCE(leak) && !vt_leak())
		return -ENOMEM;
	msleep(READ_ONCE(probe_delay_ms));
	mutex_lock(&vt_lock);
	if (genl && !vt_bound) {
		ret = genl_register_family(&vt_family);
		if (ret)
			dev_err(&pdev->dev, "genl family: %d\n", ret);
	}
	if (genl && !ret)
		vt_bound++;
	mutex_unlock(&vt_lock);
	if (!ret)
		dev_info(&pdev->dev, "probed (genl=%d)\n", genl);
	return ret;
}

static void vt_remove(struct pci_dev *pdev)
{
	mutex_lock(&vt_lock);
	if (genl && !--vt_bound)
		genl_unregister_family(&vt_family);
	mutex_unlock(&vt_lock);
	dev_info(&pdev->dev, "removed\n");
}

static const struct pci_device_id vt_ids[] = {
	{ PCI_DEVICE(0x1b36, 0x0005) },
	{ }
};
MODULE_DEVICE_TABLE(pci, vt_ids);

static struct pci_driver vt_driver = {
	.name = KBUILD_MODNAME,
	.id_table = vt_ids,
	.probe = vt_probe,
	.remove = vt_remove,
};

static int vt_nop_notify(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	return NOTIFY_DONE;
}

static struct notifier_block vt_nop_nb = {
	.notifier_call = vt_nop_notify,
};

static int __init vt_init(void)
{
	int ret;

	if (nop_notifier) {
		ret = bus_register_notifier(&pci_bus_type, &vt_nop_nb);
		if (ret)
			return ret;
	}
	ret = pci_register_driver(&vt_driver);
	if (ret)
		goto err_notifier;
	return 0;

err_notifier:
	if (nop_notifier)
		bus_unregister_notifier(&pci_bus_type, &vt_nop_nb);
	return ret;
}
module_init(vt_init);

static void __exit vt_exit(void)
{
	pci_unregister_driver(&vt_driver);
	if (nop_notifier)
		bus_unregister_notifier(&pci_bus_type, &vt_nop_nb);
}
module_exit(vt_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-reserve VM tests: a pci-testdev driver using genl");
MODULE_AUTHOR("The vfio-reserve authors");
