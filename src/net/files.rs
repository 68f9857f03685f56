//! The process's open-file limit (RLIMIT_NOFILE): every connection is a file, so
//! the connection caps must fit under it with room left for the database pool, the
//! SMTP sessions, Redis, outbound clients and files. At start the soft limit is
//! raised as far as the hard limit allows (unprivileged: no more), and the HTTP
//! cap is shrunk to what then fits; both figures are logged.

/// Files kept free for everything that is not an HTTP connection besides the
/// pools counted by the caller: listeners, logs, the key file, Redis, outbound
/// WhatsApp and SMTP clients, temporary files.
pub const BASE_RESERVE: u64 = 64;

/// Raises the soft open-file limit toward the hard limit; the soft limit now in
/// force (`None` when it cannot be read: no cap is derived from it).
pub fn raise_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) => Some(soft),
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit (RLIMIT_NOFILE)");
            rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
        }
    }
}

/// The HTTP connection cap that fits: the configured one, or fewer when the file
/// limit leaves less than that after `reserved` files (never below 1).
pub fn fit(configured: usize, soft_limit: Option<u64>, reserved: u64) -> usize {
    let Some(soft) = soft_limit else {
        return configured;
    };
    let room = usize::try_from(soft.saturating_sub(reserved)).unwrap_or(usize::MAX);
    configured.min(room).max(1)
}

/// [`raise_limit`] then [`fit`], logging the figures (a warning when the cap had
/// to shrink).
pub fn http_cap(configured: usize, reserved: u64) -> usize {
    let soft = raise_limit();
    let cap = fit(configured, soft, reserved);
    match soft {
        Some(limit) if cap < configured => tracing::warn!(
            open_file_limit = limit,
            reserved,
            configured,
            effective = cap,
            "the open-file limit is low for the connection caps: HTTP connections are capped \
             at the effective figure (raise LimitNOFILE / ulimit -n, or lower \
             BUZON_HTTP_MAX_CONNECTIONS)"
        ),
        Some(limit) => tracing::info!(
            open_file_limit = limit,
            reserved,
            max_connections = cap,
            "HTTP connection cap"
        ),
        None => tracing::warn!(
            max_connections = cap,
            "open-file limit unknown: HTTP connection cap as configured"
        ),
    }
    cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_shrinks_to_what_the_file_limit_leaves() {
        assert_eq!(fit(10_000, Some(1024), 100), 924);
        assert_eq!(fit(500, Some(1024), 100), 500);
        assert_eq!(fit(500, None, 100), 500);
        assert_eq!(fit(500, Some(50), 100), 1, "never zero");
    }

    #[test]
    fn the_soft_limit_is_read() {
        assert!(raise_limit().is_some_and(|soft| soft > 0));
    }
}
