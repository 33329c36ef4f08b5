//! Profile writes that merge: several tabs of one origin share one stored profile, and a
//! tab that wrote its whole in-memory profile would roll back what the others recorded
//! since it loaded (counters, caps, orders, sticky assignments). Instead each tab keeps
//! the [`Change`]s it made since its last save and, at the next save, applies them to the
//! profile as it is stored *now* (read in the same storage transaction), so every tab's
//! touchpoints count once and none is lost.

use super::Profile;
use crate::engine::event::Event;
use crate::engine::json::Value;

/// One thing a tab did to its profile.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A touchpoint ([`Profile::record`]).
    Event(Event),
    /// A sticky experiment assignment ([`Profile::set_assignment`]): key, variation, bucket version.
    Assignment(String, u32, u32),
    /// [`Profile::identify`]: user id and traits.
    Identify(String, Value),
    /// [`Profile::set_audiences`]: the audiences the shopper is in, and when that was found.
    Audiences(Vec<String>, f64),
}

/// What a tab changed since its last save. See the module documentation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    list: Vec<Change>,
    /// The next save writes the profile as it is (reset: a new shopper).
    replace: bool,
}

impl Changes {
    pub fn push(&mut self, change: Change) {
        self.list.push(change);
    }

    /// Forgets the changes: the next save writes the in-memory profile as it is.
    pub fn replace(&mut self) {
        self.list.clear();
        self.replace = true;
    }

    /// Forgets the changes (nothing will be stored, or the profile was just read).
    pub fn clear(&mut self) {
        self.list.clear();
        self.replace = false;
    }

    /// How many changes wait for the next save.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether a save has anything to write.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && !self.replace
    }

    /// Merges at save time. `stored` is the profile's stored text, read in the transaction
    /// that will write the answer. Unless a replace is pending or nothing readable is
    /// stored, `profile` becomes the stored profile with these changes applied (keeping its
    /// config), so this tab also sees what the other tabs recorded. The changes are then
    /// taken: the answer is the text to store, or `None` when there was nothing to write.
    pub fn merge_into(&mut self, stored: Option<&str>, profile: &mut Profile, now_ms: f64) -> Option<String> {
        let had = !self.is_empty();
        let base = stored.filter(|_| !self.replace).and_then(|t| Profile::from_json(t).ok());
        if let Some(mut base) = base {
            base.set_config(profile.config().clone());
            for c in &self.list {
                match c {
                    Change::Event(e) => base.record(e, now_ms),
                    Change::Assignment(key, variation, version) => {
                        base.set_assignment(key, *variation, *version);
                    }
                    Change::Identify(user, traits) => {
                        let _ = base.identify(user, traits.clone(), now_ms);
                    }
                    Change::Audiences(names, at) => {
                        base.set_audiences(names.iter().map(String::as_str), *at);
                    }
                }
            }
            base.revision = profile.revision + 1;
            *profile = base;
        }
        self.clear();
        (had || stored.is_none()).then(|| profile.to_json())
    }
}
