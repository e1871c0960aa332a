"""The upstream transport seam and its implementations.

`base` is the seam (`Transport`, `UpstreamRequest`, `UpstreamResponse`,
`StreamResponse`); `client` is the default pooled HTTP/1.1 client (on `wire`, `inflate`,
`pool` and `proxies`), imported when a `Proxy` is built; `aiohttp_client` is the opt-in
aiohttp transport; `dispatching` answers `mock://` in-process (`mock`) and sends the rest
on.

The client treats every upstream as untrusted. Its invariants, each with the test that
proves it (tests/core/transport/; `hostile` is test_hostile_servers.py, `fuzz` is
test_framing_fuzz.py, `client` is test_client.py, `tls` is test_tls_and_proxies.py):

What it refuses (a retryable 502, `upstream_connection_error`, and the connection closed):

* any byte after a complete answer, in the same read or later: the answer stands, the
  connection is never reused and the bytes reach no one (hostile:
  test_bytes_after_a_complete_body_are_dropped_with_the_connection,
  test_a_second_response_in_the_same_segment_never_reaches_anyone,
  test_a_response_after_the_end_of_a_stream_is_not_appended_to_it,
  test_even_empty_lines_after_a_response_end_the_connection,
  test_bytes_arriving_on_an_idle_connection_end_it; fuzz);
* framing that is ambiguous or broken: Content-Length with Transfer-Encoding, duplicate
  or invalid lengths, bare LF line ends, bad chunk sizes, invalid header names, an
  unknown HTTP version (hostile: test_ambiguous_or_broken_framing_is_refused; fuzz:
  test_our_framing_is_never_looser_than_h11, h11 as the oracle);
* a Transfer-Encoding other than `chunked` (the last coding decides the framing, RFC 9112
  section 6.3; none but chunked is decoded) (hostile:
  test_transfer_codings_other_than_chunked_are_refused,
  test_transfer_encoding_chunked_is_matched_as_a_coding_not_a_substring);
* an unrequested `101` and every parser error, as a retryable error, so a `Proxy` fails
  over (hostile: test_an_unrequested_101_is_a_retryable_502,
  test_through_proxy_a_101_fails_over_to_the_next_deployment);
* a certificate that is not trusted or not for the host; SNI is always sent (hostile:
  test_tls_checks_the_name_and_sends_sni,
  test_tls_with_the_default_context_refuses_an_untrusted_certificate; tls);
* redirects: a 3xx is returned to the adapter, never followed (hostile:
  test_redirects_are_returned_not_followed).

What it refuses to send (non-retryable, before a byte is written): a header name that is
not a token, a name or value with CR, LF or NUL, or not latin-1 (hostile:
test_an_invalid_header_name_is_refused_before_anything_is_sent,
test_header_injection_is_refused). Space, control and non-ASCII characters of the URL's
path and query are percent-encoded (hostile:
test_space_control_and_non_ascii_in_the_path_are_percent_encoded); the provider adapters
quote client text as path segments and refuse `.` and `..`
(tests/core/providers/test_url_paths.py).

What it caps:

* the response header block at 64 KiB and 256 lines, before the parser sees it (hostile:
  test_a_header_block_that_never_ends_is_refused_at_the_cap,
  test_one_huge_header_is_refused_quickly, test_too_many_header_lines_are_refused);
* a non-streaming body after decompression at `max_response_bytes` (32 MiB) and one
  server-sent event at `max_event_bytes` (8 MiB), both `[upstream]` settings
  (`upstream_response_too_large`, not retryable) (hostile:
  test_a_body_over_the_cap_is_refused,
  test_one_stream_event_over_the_cap_is_refused_many_small_ones_are_not,
  test_the_config_caps_reach_the_transport);
* inflation: gzip and deflate are inflated 64 KiB a step, and a stream inflates more
  only as its reader takes it (a 1 MB body inflating to 1 GB raises RSS by tens of MB at
  most) (hostile: test_a_streamed_gzip_bomb_is_inflated_only_as_the_reader_takes_it,
  test_a_1_mb_gzip_body_inflating_to_1_gb_stays_within_tens_of_mb_of_rss,
  test_a_multi_member_gzip_body_is_inflated_whole);
* connections: `max_connections_per_host` (256) and `max_connections` (512), callers
  queue in order and give up after `pool_timeout` (30 s) with a 503
  `upstream_pool_timeout` (hostile: test_calls_beyond_the_per_host_cap_wait_their_turn,
  test_the_total_cap_spans_hosts, test_waiting_for_a_connection_ends_in_a_clear_error,
  test_a_cancelled_waiter_gives_its_turn_back);
* every wait: `timeout` bounds a call (and a stream's headers and each gap) (hostile:
  test_a_slow_drip_of_headers_is_cut_at_the_timeout; client: the timeout tests).

When it resends: never. A request is written once; a pooled connection is checked before
the write (closed, idle longer than `idle_timeout` = 15 s, or with bytes or an end of file
waiting) and replaced then, never after (hostile:
test_a_post_is_never_sent_twice_when_a_reused_connection_closes,
test_idle_connections_expire_after_the_idle_timeout,
test_a_silently_dead_pooled_connection_is_not_waited_on; client:
test_connection_the_server_closed_while_idle_is_replaced). Retries are the router's,
under `max_retries`.

What it lets go: a stream dropped without `aclose()` closes its socket when collected
(hostile: test_a_stream_dropped_without_aclose_closes_its_socket); a stream cut short is
closed, one read to its end goes back to the pool (client).

Other HTTP features stay out on purpose: no redirects, cookies, HTTP/2 or transfer
codings but chunked; obs-fold header lines are accepted and unfolded with a space
(hostile: test_an_obs_fold_header_is_unfolded_with_a_space); a response to HEAD has no
body whatever its Content-Length says (hostile:
test_a_head_response_with_content_length_has_no_body).
"""

from .base import StreamResponse, Transport, UpstreamRequest, UpstreamResponse

__all__ = ["StreamResponse", "Transport", "UpstreamRequest", "UpstreamResponse"]
