//! The render context: everything a render may know about the outside world.

/// Where and for whom a render happens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderContext {
    /// The application's name (informational).
    pub app_name: String,
    /// Namespace for specs that do not set one; `None` leaves it to the applying tool.
    pub namespace: Option<String>,
    /// The source revision; never written onto objects by default.
    pub revision: Option<String>,
    /// The environment to render.
    pub environment: Option<String>,
    /// Free key/value parameters.
    pub parameters: Vec<(String, String)>,
}
