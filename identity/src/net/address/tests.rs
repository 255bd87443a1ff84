//! Tests of `net::address`.

use super::*;

fn class(text: &str) -> AddressClass {
    AddressClass::of(text.parse().unwrap())
}

#[test]
fn addresses_are_classified() {
    for (ip, expected) in [
        ("8.8.8.8", AddressClass::Public),
        ("93.184.216.34", AddressClass::Public),
        ("2606:4700::1111", AddressClass::Public),
        ("127.0.0.1", AddressClass::Loopback),
        ("127.0.0.2", AddressClass::Loopback),
        ("::1", AddressClass::Loopback),
        ("::ffff:127.0.0.1", AddressClass::Loopback),
        ("::127.0.0.1", AddressClass::Loopback),
        ("10.1.2.3", AddressClass::Private),
        ("172.16.0.1", AddressClass::Private),
        ("172.31.255.255", AddressClass::Private),
        ("192.168.1.1", AddressClass::Private),
        ("::ffff:192.168.1.1", AddressClass::Private),
        ("64:ff9b::10.0.0.1", AddressClass::Private),
        ("2002:0a00:0001::1", AddressClass::Private),
        ("100.64.0.1", AddressClass::Shared),
        ("100.127.255.255", AddressClass::Shared),
        ("169.254.169.254", AddressClass::LinkLocal),
        ("fe80::1", AddressClass::LinkLocal),
        ("fc00::1", AddressClass::UniqueLocal),
        ("fd12:3456::1", AddressClass::UniqueLocal),
        ("0.0.0.0", AddressClass::Unspecified),
        ("::", AddressClass::Unspecified),
        ("224.0.0.1", AddressClass::Multicast),
        ("ff02::1", AddressClass::Multicast),
        ("255.255.255.255", AddressClass::Broadcast),
        ("240.0.0.1", AddressClass::Reserved),
    ] {
        assert_eq!(class(ip), expected, "{ip}");
    }
    assert_eq!(class("172.32.0.1"), AddressClass::Public);
    assert_eq!(class("100.128.0.1"), AddressClass::Public);
}

#[test]
fn private_addresses_need_the_policy_and_some_are_never_reached() {
    let public = AddressPolicy::default();
    assert_eq!(public, AddressPolicy::PUBLIC_ONLY);
    let private = AddressPolicy::ALLOW_PRIVATE;
    for ip in [
        "127.0.0.1",
        "10.0.0.1",
        "100.64.0.1",
        "169.254.169.254",
        "fd00::1",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        assert!(public.check_ip(ip).is_err(), "{ip}");
        assert!(private.check_ip(ip).is_ok(), "{ip}");
    }
    for ip in ["0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "240.0.0.1"] {
        let ip: IpAddr = ip.parse().unwrap();
        assert!(private.check_ip(ip).is_err(), "{ip}");
    }
    let error = public.check_ip("10.0.0.1".parse().unwrap()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "address 10.0.0.1 is private: refused by the address policy (allowed only with \
         --allow-private-callbacks)"
    );
}

#[test]
fn urls_are_parsed_never_prefix_matched() {
    let private = AddressPolicy::ALLOW_PRIVATE;
    let public = AddressPolicy::PUBLIC_ONLY;
    for url in [
        "http://127.0.0.1:8080/list",
        "http://localhost:9/list",
        "http://[::1]:8443/x",
        "https://10.0.0.1/x",
        "https://example.com/x",
    ] {
        assert!(private.check_url(url).is_ok(), "{url}");
    }
    for (url, refused) in [
        ("http://127.0.0.1@127.0.0.2:8080/x", "user information"),
        ("https://user:pw@example.com/", "user information"),
        ("http://localhost@evil.com/", "user information"),
        ("http://127.0.0.1.example.org/", "plain http"),
        ("http://10.0.0.1/", "plain http"),
        ("http://example.com/", "plain http"),
        ("ftp://127.0.0.1/", "https URL"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://[ff02::1]/", "multicast"),
        ("not a url", "is not a URL"),
        ("file:///etc/passwd", "https URL"),
    ] {
        let error = private.check_url(url).unwrap_err().to_string();
        assert!(error.contains(refused), "{url}: {error}");
    }
    for url in [
        "http://127.0.0.1:8080/",
        "https://127.0.0.2/",
        "https://[::1]/",
        "https://[::ffff:7f00:1]/",
        "https://localhost/",
        "https://a.localhost./",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/",
        "https://[fd00::1]/",
    ] {
        let error = public.check_url(url).unwrap_err().to_string();
        assert!(
            error.contains("--allow-private-callbacks"),
            "{url}: {error}"
        );
    }
    assert!(public.check_url("https://example.com/").is_ok());
    assert!(public.check_url("https://8.8.8.8/").is_ok());
}

#[tokio::test]
async fn every_resolved_address_is_checked() {
    let public = |ip: &'static str| {
        PolicyResolver::with_lookup(AddressPolicy::PUBLIC_ONLY, move |_| {
            Ok(vec![SocketAddr::new(ip.parse().unwrap(), 0)])
        })
    };
    assert!(public("93.184.216.34")
        .resolve_checked("example.com")
        .await
        .is_ok());
    let error = public("127.0.0.1")
        .resolve_checked("rebound.example")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "host `rebound.example` resolves to 127.0.0.1, which is loopback: refused by the \
         address policy (allowed only with --allow-private-callbacks)"
    );
    let mixed = PolicyResolver::with_lookup(AddressPolicy::PUBLIC_ONLY, |_| {
        Ok(vec![
            SocketAddr::new("93.184.216.34".parse().unwrap(), 0),
            SocketAddr::new("10.0.0.7".parse().unwrap(), 0),
        ])
    });
    assert!(matches!(
        mixed.resolve_checked("mixed.example").await,
        Err(AddressError::RefusedResolved { .. })
    ));
    let none = PolicyResolver::with_lookup(AddressPolicy::PUBLIC_ONLY, |_| Ok(Vec::new()));
    assert!(matches!(
        none.resolve_checked("void.example").await,
        Err(AddressError::Unresolved { .. })
    ));
}

/// A name is resolved, checked, and the client connects to the checked address: with a
/// stand-in DNS that answers loopback, a client under the public-only policy never
/// connects (the listener sees nothing), and one allowing private addresses reaches it.
#[tokio::test]
async fn the_client_connects_only_to_checked_addresses() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = vec![0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let reply = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    let client = |policy: AddressPolicy| {
        let resolver = PolicyResolver::with_lookup(policy, |_| {
            Ok(vec![SocketAddr::new("127.0.0.1".parse().unwrap(), 0)])
        });
        reqwest::Client::builder()
            .dns_resolver(resolver)
            .no_proxy()
            .build()
            .unwrap()
    };
    // `http://` to a name: the scheme rule is check_url's; here only the resolver acts.
    let url = format!("http://rebound.example:{port}/");
    let error = client(AddressPolicy::PUBLIC_ONLY)
        .get(&url)
        .send()
        .await
        .unwrap_err();
    let refusal = AddressError::find(&error).expect("the refusal is in the chain");
    assert!(matches!(refusal, AddressError::RefusedResolved { .. }));
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    let answer = client(AddressPolicy::ALLOW_PRIVATE)
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "ok");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}
