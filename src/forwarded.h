/* forwarded.h - which address of an X-Forwarded-For chain is the client,
 * given the reverse proxies the operator trusts (FCGICHAT_TRUSTED_PROXIES):
 * the rule of lighttpd's mod_extforward and Apache's mod_remoteip, for the
 * one path the web server cannot rewrite for us, the WebSocket door. A
 * request proxied there carries the chain with the address the web server
 * saw last; walking it from the right past the trusted proxies gives the
 * same address the web server gave the FastCGI request as REMOTE_ADDR. */
#ifndef FORWARDED_H
#define FORWARDED_H

#include <stdbool.h>
#include <stddef.h>

/* Longest address text written (inet_ntop's INET6_ADDRSTRLEN). */
#define FORWARDED_ADDR_MAX 46
/* Most entries of a list of trusted proxies. */
#define FORWARDED_TRUSTED_MAX 64

/* text, an IPv4 or IPv6 address, in one form (inet_ntop's; an
 * IPv4-mapped IPv6 address as IPv4) into out. Returns false, out
 * unchanged, when text is NULL or no address. */
bool forwarded_addr(const char *text, char out[FORWARDED_ADDR_MAX]);

/* Is list a valid FCGICHAT_TRUSTED_PROXIES: 1 to FORWARDED_TRUSTED_MAX
 * IPv4 or IPv6 addresses, each optionally /prefix (a CIDR range: /0-32 or
 * /0-128), separated by spaces or tabs? */
bool forwarded_trusted_ok(const char *list);

/*
 * The client of the X-Forwarded-For value xff (elements separated by
 * commas, spaces and tabs around them) when the request came through the
 * proxies in trusted (a list forwarded_trusted_ok accepts, or NULL: none):
 * the right-most element that is not a trusted proxy, or the left-most
 * one when all are. Writes it into out in inet_ntop's form and returns
 * true; returns false (out unchanged) when xff is NULL or empty, or when
 * the element found is not an IPv4 or IPv6 address.
 */
bool forwarded_client(const char *trusted, const char *xff,
    char out[FORWARDED_ADDR_MAX]);

#endif
