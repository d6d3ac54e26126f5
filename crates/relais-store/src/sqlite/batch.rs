//! Multi-row statements: many rows bound into one `VALUES (…), (…), …` list.
//!
//! One statement per row would cost a round trip to sqlx's connection thread
//! and a step through SQLite's VM per row; 500 rows per statement cost one.
//! Every full chunk has the same SQL text, so SQLite prepares it once and
//! sqlx's statement cache reuses it for the following chunks.

use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

/// Rows per statement. SQLite allows 32,766 bound parameters per statement:
/// this leaves room for rows of up to 65 columns.
pub(super) const ROWS_PER_STATEMENT: usize = 500;

/// Runs `head VALUES (row), (row), … tail` over `rows`, [`ROWS_PER_STATEMENT`]
/// at a time, `bind` pushing one row's values; answers the rows affected.
///
/// `tail` lets the values feed a larger statement, e.g.
/// `WITH input(a, b) AS (VALUES …) INSERT … SELECT … FROM input`.
pub(super) async fn execute_values<T>(
    conn: &mut SqliteConnection,
    head: &str,
    tail: &str,
    rows: &[T],
    mut bind: impl FnMut(&mut Separated<'_, Sqlite, &'static str>, &T),
) -> Result<u64, sqlx::Error> {
    let mut affected = 0;
    let mut builder = QueryBuilder::<Sqlite>::new(head);
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        builder.reset();
        builder.push_values(chunk, |mut values, row| bind(&mut values, row));
        builder.push(tail);
        affected += builder.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(affected)
}
