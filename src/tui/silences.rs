//! The Silences view's data: Alertmanager silences (active, pending and
//! recently expired), which alerts each mutes, and whether the selected
//! one can be expired here.

use super::state::{State, View};
use crate::model::{Incident, Silence};

impl State {
    /// The silences shown: active, pending, expired (newest first in
    /// each), or by the chosen column; filtered by matcher, author,
    /// comment, id or state.
    pub fn silences(&self) -> Vec<&Silence> {
        let q = self.list(View::Silences).filter.to_lowercase();
        let mut v: Vec<&Silence> = self
            .snap
            .silences
            .iter()
            .filter(|s| {
                q.is_empty()
                    || [
                        s.id.as_str(),
                        s.created_by.as_str(),
                        s.comment.as_str(),
                        s.state.as_str(),
                        s.provider.as_str(),
                    ]
                    .into_iter()
                    .chain(s.matchers.iter().map(|m| m.as_str()))
                    .any(|f| f.to_lowercase().contains(&q))
            })
            .collect();
        super::sort::silences(&mut v, self.list(View::Silences));
        v
    }

    pub fn selected_silence(&self) -> Option<&Silence> {
        self.silences()
            .get(self.list(View::Silences).selected)
            .copied()
    }

    /// The silences muting incident `i` (an alert of the same provider
    /// whose `silencedBy` names them).
    pub fn silences_muting(&self, i: &Incident) -> Vec<&Silence> {
        self.snap
            .silences
            .iter()
            .filter(|s| s.provider == i.provider && s.muting.contains(&i.id))
            .collect()
    }

    /// Why silence `s` cannot be expired from here; `None` when it can.
    pub fn expire_refusal(&self, s: &Silence) -> Option<String> {
        if s.state.as_str() == "expired" {
            return Some(format!("silence {} has already expired", s.id));
        }
        let slot = self
            .store
            .slots
            .iter()
            .find(|slot| slot.name == s.provider.as_str());
        match slot {
            None => Some(format!("{}: no such provider here", s.provider)),
            Some(slot) => slot.actions.expire.clone(),
        }
    }
}
