// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * persist, unpersist: the boot configuration. persist writes the module's
 * options and the softdeps that load it before the native drivers of the
 * selected devices, puts the module in the initramfs and regenerates it;
 * unpersist puts every file back exactly as it was (persist keeps the
 * originals in VR_STATE_DIR) and regenerates again.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfio-reserve.h"

#define VR_STATE_DIR	"/var/lib/vfio-reserve/persist"
#define VR_MODPROBE_CONF	"/etc/modprobe.d/vfio-reserve.conf"
#define VR_ITOOLS_MODULES	"/etc/initramfs-tools/modules"
#define VR_DRACUT_CONF	"/etc/dracut.conf.d/vfio-reserve.conf"

/* The files persist may change, each saved once before its first change. */
static const char *const vr_persist_files[] = {
	VR_MODPROBE_CONF, VR_ITOOLS_MODULES, VR_DRACUT_CONF,
};

static void vr_backup_name(const char *path, char *out, size_t size)
{
	char *p;

	snprintf(out, size, "%s/%s", VR_STATE_DIR, path + 1);
	for (p = out + strlen(VR_STATE_DIR) + 1; *p; p++)
		if (*p == '/')
			*p = '%';
}

static int vr_copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[8192];
	size_t n;
	FILE *in = fopen(from, "re"), *out;
	int ret = 0;

	if (!in)
		return -errno;
	out = fopen(to, "we");
	if (!out) {
		ret = -errno;
		fclose(in);
		return ret;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)))
		if (fwrite(buf, 1, n, out) != n)
			ret = -EIO;
	if (fclose(out))
		ret = -errno;
	fclose(in);
	chmod(to, mode);
	return ret;
}

static int vr_mkdirs(const char *dir)
{
	char path[PATH_MAX], *p;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Save @path's original (or that it did not exist), once. */
static int vr_save_original(const char *path)
{
	char saved[PATH_MAX], absent[PATH_MAX + 8];
	struct stat st;
	FILE *f;

	vr_backup_name(path, saved, sizeof(saved));
	snprintf(absent, sizeof(absent), "%s.absent", saved);
	if (!access(saved, F_OK) || !access(absent, F_OK))
		return 0;
	if (vr_mkdirs(VR_STATE_DIR))
		return -errno;
	if (stat(path, &st)) {
		f = fopen(absent, "we");
		if (!f)
			return -errno;
		fclose(f);
		return 0;
	}
	return vr_copy_file(path, saved, st.st_mode & 07777);
}

/* Put @path back as persist found it; true when it changed anything. */
static bool vr_restore_original(const char *path)
{
	char saved[PATH_MAX], absent[PATH_MAX + 8];
	struct stat st;

	vr_backup_name(path, saved, sizeof(saved));
	snprintf(absent, sizeof(absent), "%s.absent", saved);
	if (!access(absent, F_OK)) {
		unlink(path);
		unlink(absent);
		printf("removed %s\n", path);
		return true;
	}
	if (stat(saved, &st))
		return false;
	if (vr_copy_file(saved, path, st.st_mode & 07777)) {
		vr_err("cannot restore %s from %s: %s", path, saved, strerror(errno));
		return false;
	}
	unlink(saved);
	printf("restored %s\n", path);
	return true;
}

static int vr_run_cmd(char *const argv[])
{
	int i;

	printf("running:");
	for (i = 0; argv[i]; i++)
		printf(" %s", argv[i]);
	printf("\n");
	fflush(stdout);
	return vr_run(argv) ? -EIO : 0;
}

enum vr_generator { VR_GEN_NONE, VR_GEN_INITRAMFS_TOOLS, VR_GEN_DRACUT };

static enum vr_generator vr_generator(void)
{
	if (!access("/usr/sbin/update-initramfs", X_OK) ||
	    !access("/sbin/update-initramfs", X_OK))
		return VR_GEN_INITRAMFS_TOOLS;
	if (!access("/usr/bin/dracut", X_OK) || !access("/usr/sbin/dracut", X_OK))
		return VR_GEN_DRACUT;
	return VR_GEN_NONE;
}

static int vr_regenerate(enum vr_generator gen)
{
	char *itools[] = { "update-initramfs", "-u", "-k", "all", NULL };
	char *dracut[] = { "dracut", "--force", "--regenerate-all", NULL };

	switch (gen) {
	case VR_GEN_INITRAMFS_TOOLS:
		return vr_run_cmd(itools);
	case VR_GEN_DRACUT:
		return vr_run_cmd(dracut);
	case VR_GEN_NONE:
		break;
	}
	vr_err("no initramfs generator (initramfs-tools or dracut) found: nothing regenerated");
	return 0;
}

/* Does @path have the line @line? */
static bool vr_has_line(const char *path, const char *line)
{
	char buf[512];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		found = !strcmp(buf, line);
	}
	fclose(f);
	return found;
}

/* Append " @mod " to the word list @mods unless it is there (or full). */
static void vr_word_add(char *mods, size_t size, const char *mod)
{
	size_t len = strlen(mods);
	char word[72];

	snprintf(word, sizeof(word), " %s ", mod);
	if (!strstr(mods, word) && len + strlen(word) < size)
		snprintf(mods + len, size - len, "%s", word);
}

/* The native driver modules of present devices that @sels selects. */
static void vr_softdeps(const struct vr_opts *o, const struct vr_selector *sels,
			int n, char *mods, size_t size)
{
	char alias[256], mod[64];
	char *argv[] = { "modprobe", "-R", alias, NULL };
	struct vr_device *devs;
	struct vr_pci_ids id;
	size_t count, i;
	pid_t pid;
	FILE *p;

	mods[0] = '\0';
	if (vr_sysfs_devices(o, &devs, &count))
		return;
	for (i = 0; i < count; i++) {
		vr_device_ids(&devs[i], &id);
		if (devs[i].bridge ||
		    vr_sel_list_match(sels, (unsigned int)n, &id) < 0 ||
		    vr_sysfs_dev(o, devs[i].addr, "modalias", alias, sizeof(alias)))
			continue;
		p = vr_popen(argv, &pid);
		while (p && fscanf(p, "%63s", mod) == 1)
			if (strcmp(mod, "vfio_pci"))
				vr_word_add(mods, size, mod);
		if (p)
			vr_pclose(p, pid);
	}
	free(devs);
}

/*
 * The modules of the rules' target drivers, but vfio-pci (the module's own
 * softdep), as " a b ": a driver's name is its module's (KBUILD_MODNAME),
 * '-' spelled '_' as modprobe spells module names; pciback's is
 * xen_pciback.
 */
static void vr_targets(const struct vr_selector *sels, int n, char *mods,
		       size_t size)
{
	char mod[VR_SEL_DRIVER_MAX + 1], *p;
	int i;

	mods[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!sels[i].driver[0] || sels[i].exclude)
			continue;
		/* xen-pciback's driver is "pciback", its module xen_pciback */
		snprintf(mod, sizeof(mod), "%s", strcmp(sels[i].driver, "pciback") ?
			 sels[i].driver : "xen_pciback");
		for (p = mod; *p; p++)
			if (*p == '-')
				*p = '_';
		vr_word_add(mods, size, mod);
	}
}

static int vr_write_modprobe_conf(const char *list, const char *mods,
				  const char *targets)
{
	char mod[64];
	const char *p = mods;
	FILE *f = fopen(VR_MODPROBE_CONF, "we");
	int n;

	if (!f)
		return -errno;
	fprintf(f, "# Written by 'vfio-reserve persist'; 'vfio-reserve unpersist' removes it.\n"
		"options vfio_reserve devices=%s\n", list);
	while (sscanf(p, " %63s%n", mod, &n) == 1) {
		fprintf(f, "softdep %s pre: vfio_reserve\n", mod);
		p += n;
	}
	/* the initramfs carries the rules' targets with the module */
	if (targets[0])
		fprintf(f, "softdep vfio_reserve post: vfio_pci%s\n", targets);
	return fclose(f) ? -errno : 0;
}

static int vr_add_to_initramfs(enum vr_generator gen, const char *module)
{
	const char *path = gen == VR_GEN_DRACUT ? VR_DRACUT_CONF : VR_ITOOLS_MODULES;
	bool first = !strcmp(module, "vfio_reserve");
	char line[128];
	FILE *f;
	int ret;

	if (gen == VR_GEN_DRACUT)
		snprintf(line, sizeof(line), "add_drivers+=\" %s \"", module);
	else
		snprintf(line, sizeof(line), "%s", module);
	if (gen == VR_GEN_NONE || vr_has_line(path, line))
		return 0;
	ret = vr_save_original(path);
	if (ret)
		return ret;
	if (gen == VR_GEN_DRACUT)
		vr_mkdirs("/etc/dracut.conf.d");
	f = fopen(path, "ae");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", line);
	if (gen == VR_GEN_DRACUT && first)
		fprintf(f, "install_items+=\" %s \"\n", VR_MODPROBE_CONF);
	if (fclose(f))
		return -errno;
	printf("added %s to %s\n", module, path);
	return 0;
}

/*
 * A whole address persisted for later boots is pinned to the ids of the
 * device there now (ADDR#vvvv:dddd): after a renumbering the module leaves
 * whatever moved onto that address alone, and logs why. An address with no
 * device now cannot be pinned: refused unless --force (then written as it
 * is). @list is rewritten in canonical text.
 */
static int vr_pin_addresses(const struct vr_opts *o, struct vr_selector *sels,
			    int n, char *list, size_t size)
{
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		struct vr_selector *s = &sels[i];
		char addr[40];
		struct vr_device d;

		if (s->kind != VR_SEL_ADDR || s->exclude || s->pinned ||
		    s->slot == VR_SEL_ANY || s->func == VR_SEL_ANY)
			continue;
		snprintf(addr, sizeof(addr), "%04x:%02x:%02x.%x", s->domain,
			 s->bus, s->slot, s->func);
		if (vr_sysfs_device(o, addr, &d) || !d.vendor) {
			vr_err("%s: no device at %s to pin it to (persist writes ADDRESS#VENDOR:DEVICE); write %s#vvvv:dddd yourself, or use --force to persist it unpinned",
			       o->force ? "warning" : "refusing", addr, addr);
			bad += !o->force;
			continue;
		}
		s->pinned = true;
		s->vendor = d.vendor;
		s->device = d.device;
	}
	if (bad)
		return VR_EXIT_FAIL;
	if (vr_sels_join(sels, n, list, size)) {
		vr_err("persist: the pinned selector list is longer than %zu characters: persist fewer devices at once",
		       size - 1);
		return VR_EXIT_FAIL;
	}
	return VR_EXIT_OK;
}

int vr_cmd_persist(const struct vr_opts *o, int argc, char **argv)
{
	struct vr_selector sels[VR_SEL_LIST_MAX];
	char list[VFIO_RESERVE_SELECTOR_LIST_MAX], mods[512], targets[512];
	char mod[64];
	const char *p;
	int len;
	enum vr_generator gen = vr_generator();
	bool regen = !o->no_initramfs;
	int n, ret;

	if (argc < 2)
		return vr_usage_error("persist", "which selectors?");
	ret = vr_parse_selectors("persist", argc - 1, argv + 1, sels, &n, list,
				 sizeof(list));
	if (ret)
		return ret;
	if (geteuid()) {
		vr_err("persist: permission denied: this needs root (it writes %s and regenerates the initramfs)",
		       VR_MODPROBE_CONF);
		return VR_EXIT_FAIL;
	}
	/* Before writing anything: not the host's own devices. */
	ret = vr_list_safety(o, "persist", sels, n);
	if (!ret)
		ret = vr_auto_resolve(o, "persist", sels, n);
	if (!ret)
		ret = vr_pin_addresses(o, sels, n, list, sizeof(list));
	if (ret)
		return ret;
	vr_softdeps(o, sels, n, mods, sizeof(mods));
	vr_targets(sels, n, targets, sizeof(targets));
	ret = vr_save_original(VR_MODPROBE_CONF);
	if (!ret)
		ret = vr_write_modprobe_conf(list, mods, targets);
	if (ret) {
		vr_err("persist: cannot write %s: %s", VR_MODPROBE_CONF, strerror(-ret));
		return VR_EXIT_FAIL;
	}
	printf("wrote %s: devices=%s%s%s\n", VR_MODPROBE_CONF, list,
	       mods[0] ? ", loaded before" : "", mods);
	ret = vr_add_to_initramfs(gen, "vfio_reserve");
	for (p = targets; !ret && sscanf(p, " %63s%n", mod, &len) == 1; p += len)
		ret = vr_add_to_initramfs(gen, mod);
	if (ret) {
		vr_err("persist: cannot add the module to the initramfs configuration: %s",
		       strerror(-ret));
		return VR_EXIT_FAIL;
	}
	if (regen && vr_regenerate(gen)) {
		vr_err("persist: regenerating the initramfs failed; the configuration is written: fix the error and run it again");
		return VR_EXIT_FAIL;
	}
	return VR_EXIT_OK;
}

int vr_cmd_unpersist(const struct vr_opts *o, int argc, char **argv)
{
	bool changed = false, regen = !o->no_initramfs;
	size_t i;

	if (argc > 1)
		return vr_usage_error("unpersist", "no arguments expected ('%s')", argv[1]);
	if (geteuid()) {
		vr_err("unpersist: permission denied: this needs root");
		return VR_EXIT_FAIL;
	}
	for (i = 0; i < sizeof(vr_persist_files) / sizeof(vr_persist_files[0]); i++)
		changed |= vr_restore_original(vr_persist_files[i]);
	if (!changed) {
		printf("nothing to undo: persist has not changed this system\n");
		return VR_EXIT_OK;
	}
	if (regen && vr_regenerate(vr_generator())) {
		vr_err("unpersist: regenerating the initramfs failed; run update-initramfs -u -k all");
		return VR_EXIT_FAIL;
	}
	return VR_EXIT_OK;
}
