//! The classifier's model in the store: its bytes (the classify stage
//! encodes and decodes them) and which published items it has learned.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store, decode_item};
use crate::items::Item;

/// A published item the model has not learned yet, with the newsletters
/// whose editions carried it.
pub(crate) struct Published {
    pub(crate) item: Item,
    pub(crate) newsletters: Vec<String>,
}

impl Store {
    /// The stored model's bytes; `None` before the first save.
    pub(crate) fn model(&self) -> Result<Option<Vec<u8>>> {
        self.conn
            .query_row("SELECT state FROM model WHERE id = 1", [], |row| row.get(0))
            .optional()
            .map_err(|e| self.error(e))
    }

    /// Every item of an approved edition that the model has not learned,
    /// in item id order. A draft's items are the model's own choice, not
    /// yet the editor's: learning them would feed the model its guesses.
    pub(crate) fn unlearned_published(&self) -> Result<Vec<Published>> {
        let rows: Vec<(String, String, String)> = self.rows(
            "SELECT i.item_id, i.newsletter, i.body FROM edition_items i
             JOIN editions e ON e.newsletter = i.newsletter AND e.number = i.number
             WHERE e.state = 'approved'
               AND i.item_id NOT IN (SELECT item_id FROM model_learned)
             ORDER BY i.item_id, i.newsletter",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?;
        let mut published: Vec<(String, Published)> = Vec::new();
        for (id, newsletter, body) in rows {
            match published.last_mut() {
                Some((last, p)) if *last == id => p.newsletters.push(newsletter),
                _ => {
                    let item = decode_item(&self.path, &body)?;
                    published.push((
                        id,
                        Published {
                            item,
                            newsletters: vec![newsletter],
                        },
                    ));
                }
            }
        }
        Ok(published.into_iter().map(|(_, p)| p).collect())
    }

    /// Stores the model and marks `learned` (item ids) as learned, at once.
    pub(crate) fn save_model(&mut self, state: &[u8], learned: &[String]) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO model (id, state) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state",
                [state],
            )?;
            for id in learned {
                tx.execute(
                    "INSERT OR IGNORE INTO model_learned (item_id) VALUES (?1)",
                    params![id],
                )?;
            }
            Ok(())
        })
    }
}
