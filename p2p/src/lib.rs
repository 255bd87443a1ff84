//! Symbolon's peer network: connectors find each other over libp2p and authenticate each
//! other by the credentials they present.
