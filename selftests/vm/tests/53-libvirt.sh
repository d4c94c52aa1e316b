#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# libvirt XML: the address in hex, managed='no', valid for libvirt's schema
# when virt-xml-validate is installed.
# vr-roles: mf-pair
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# ADDR as libvirt's <address> element has it.
libvirt_address() {
	local d b s f
	IFS=':.' read -r d b s f <<<"$1"
	printf "<address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>\n" \
		"0x$d" "0x$b" "0x$s" "0x$f"
}

ktap_plan 3
xml=$($VR libvirt "$MF1" "$MF0")
ktap_check "hostdev elements with domain/bus/slot/function in hex" \
	eval 'grep -q "<hostdev mode=.subsystem. type=.pci. managed=.no.>" <<<"$xml" &&
		grep -qF "$(libvirt_address "$MF1")" <<<"$xml" &&
		grep -qF "$(libvirt_address "$MF0")" <<<"$xml"'
ktap_diag <<<"$xml"
ktap_check "a bad address (function 9) is a usage error" \
	eval '$VR libvirt "${MF0%.*}.9" >/dev/null 2>&1; (( $? == 2 ))'
if command -v virt-xml-validate >/dev/null; then
	cat >/tmp/dom.xml <<-XML
	<domain type='kvm'><name>vr</name><memory>65536</memory>
	<os><type arch='x86_64'>hvm</type></os><devices>
	$xml
	</devices></domain>
	XML
	ktap_check "virt-xml-validate accepts it in a domain" \
		virt-xml-validate /tmp/dom.xml domain
else
	ktap_skip "virt-xml-validate accepts it in a domain" "libvirt-clients not installed"
fi
ktap_finish
