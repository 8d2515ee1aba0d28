//! The one way a process of this workspace connects to MongoDB: the driver with time limits
//! suited to a worker or a page (a down server is noticed in seconds, not after the driver's
//! default 30 s). Settings written in the URI win.

use std::time::Duration;

use mongodb::options::ClientOptions;
use mongodb::Client;

/// How long server selection and a connection attempt may take unless the URI says otherwise.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// A client for `uri`, named `app_name` in MongoDB's logs and `currentOp`.
///
/// # Errors
/// When the URI does not parse or names an unsupported option.
pub async fn connect(uri: &str, app_name: &str) -> mongodb::error::Result<Client> {
    let mut options = ClientOptions::parse(uri).await?;
    options.server_selection_timeout.get_or_insert(TIMEOUT);
    options.connect_timeout.get_or_insert(TIMEOUT);
    options.app_name.get_or_insert_with(|| app_name.to_owned());
    Client::with_options(options)
}
