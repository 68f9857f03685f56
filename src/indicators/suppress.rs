//! Small-cell protection: a count under the minimum is shown as "< n", and a table
//! never lets it be recovered by subtraction from its totals.
//!
//! 1. Primary suppression: every count (cell, row total, column total, grand total)
//!    from 1 to `min - 1`. Zero is shown: it points at nobody.
//! 2. Complementary suppression: in every line whose entries add up to a total
//!    shown beside them (a row with its row total when the row adds up, a column
//!    with its column total when the columns add up, the totals row with the grand
//!    total, the row totals with the grand total), one suppressed entry alone could
//!    be recovered by subtraction; so a second one is suppressed, the smallest
//!    non-zero count left in that line (a zero, then the line's total, if no other
//!    is left). Repeated until every such line holds none or at least two.
//!
//! Tables whose rows overlap (a complaint names several violations, reaches
//! several statuses) say so with `rows_add_up: false`, and their column totals are
//! the number of cases, not a sum; only the lines that do add up are protected by
//! step 2, and step 1 protects every count.

use super::{Cell, Table};

/// A count as shown on its own (step 1): hidden from 1 to `min - 1`.
pub fn count(n: u64, min: u64) -> Cell {
    if n > 0 && n < min {
        Cell::Suppressed
    } else {
        Cell::Count(n)
    }
}

/// Applies both steps to a table of counts, in place.
pub fn protect(table: &mut Table, min: u64) {
    let primary = |c: &mut Cell| {
        if let Cell::Count(n) = *c {
            *c = count(n, min);
        }
    };
    for row in &mut table.rows {
        row.cells.iter_mut().for_each(primary);
        if let Some(t) = row.total.as_mut() {
            primary(t);
        }
    }
    if let Some(totals) = table.totals.as_mut() {
        totals.cells.iter_mut().for_each(primary);
        if let Some(t) = totals.total.as_mut() {
            primary(t);
        }
    }
    loop {
        let mut changed = false;
        for line in lines(table) {
            changed |= complement(table, &line);
        }
        if !changed {
            break;
        }
    }
}

/// Where an entry of the table is: a row's cell (`row`, `Some(col)`), a row's
/// total (`row`, `None`); the totals row is row `usize::MAX`.
pub type Pos = (usize, Option<usize>);

pub const TOTALS: usize = usize::MAX;

pub fn get(table: &Table, (row, col): Pos) -> Option<&Cell> {
    let r = if row == TOTALS {
        table.totals.as_ref()?
    } else {
        table.rows.get(row)?
    };
    match col {
        Some(c) => r.cells.get(c),
        None => r.total.as_ref(),
    }
}

fn get_mut(table: &mut Table, (row, col): Pos) -> Option<&mut Cell> {
    let r = if row == TOTALS {
        table.totals.as_mut()?
    } else {
        table.rows.get_mut(row)?
    };
    match col {
        Some(c) => r.cells.get_mut(c),
        None => r.total.as_mut(),
    }
}

/// Every line whose entries add up to its last entry (the total), as positions.
pub fn lines(table: &Table) -> Vec<Vec<Pos>> {
    let mut out = Vec::new();
    let width = table.columns.len();
    let with_totals = |row: usize, t: &Table| {
        let mut line: Vec<Pos> = (0..width).map(|c| (row, Some(c))).collect();
        if get(t, (row, None)).is_some() {
            line.push((row, None));
            Some(line)
        } else {
            None
        }
    };
    for i in 0..table.rows.len() {
        out.extend(with_totals(i, table));
    }
    if table.rows_add_up && table.totals.is_some() {
        for c in 0..width {
            let mut line: Vec<Pos> = (0..table.rows.len()).map(|r| (r, Some(c))).collect();
            line.push((TOTALS, Some(c)));
            out.push(line);
        }
        if get(table, (TOTALS, None)).is_some() {
            let mut line: Vec<Pos> = (0..table.rows.len()).map(|r| (r, None)).collect();
            line.push((TOTALS, None));
            out.push(line);
        }
    }
    if table.totals.is_some() {
        out.extend(with_totals(TOTALS, table));
    }
    out
}

/// Suppresses one more entry of `line` if exactly one is suppressed.
fn complement(table: &mut Table, line: &[Pos]) -> bool {
    let suppressed = line
        .iter()
        .filter(|p| matches!(get(table, **p), Some(Cell::Suppressed)))
        .count();
    if suppressed != 1 {
        return false;
    }
    let (body, total) = line.split_at(line.len() - 1);
    let count = |p: &Pos| match get(table, *p) {
        Some(Cell::Count(n)) => Some(*n),
        _ => None,
    };
    let pick = body
        .iter()
        .filter_map(|p| count(p).filter(|n| *n > 0).map(|n| (n, *p)))
        .min_by_key(|(n, _)| *n)
        .or_else(|| body.iter().find_map(|p| count(p).map(|n| (n, *p))))
        .or_else(|| total.first().and_then(|p| count(p).map(|n| (n, *p))));
    match pick.and_then(|(_, p)| get_mut(table, p)) {
        Some(cell) => {
            *cell = Cell::Suppressed;
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Row, Table};
    use super::*;
    use proptest::prelude::*;

    fn table(cells: &[Vec<u64>]) -> Table {
        let width = cells.first().map_or(0, Vec::len);
        let rows: Vec<Row> = cells
            .iter()
            .enumerate()
            .map(|(i, r)| Row {
                key: i.to_string(),
                label: i.to_string(),
                cells: r.iter().map(|n| Cell::Count(*n)).collect(),
                total: Some(Cell::Count(r.iter().sum())),
            })
            .collect();
        let col = |c: usize| cells.iter().map(|r| r[c]).sum::<u64>();
        Table {
            columns: (0..width).map(|c| c.to_string()).collect(),
            totals: Some(Row {
                key: "total".into(),
                label: "total".into(),
                cells: (0..width).map(|c| Cell::Count(col(c))).collect(),
                total: Some(Cell::Count(cells.iter().flatten().sum())),
            }),
            rows,
            rows_add_up: true,
            ..Table::default()
        }
    }

    fn safe(t: &Table) -> bool {
        lines(t).iter().all(|line| {
            let n = line
                .iter()
                .filter(|p| matches!(get(t, **p), Some(Cell::Suppressed)))
                .count();
            n != 1
        })
    }

    #[test]
    fn a_cell_of_four_is_hidden_and_not_recoverable_from_its_totals() {
        let mut t = table(&[vec![4, 10, 20], vec![30, 40, 50]]);
        protect(&mut t, 5);
        assert_eq!(t.rows[0].cells[0], Cell::Suppressed);
        // Its row and its column each hide a second entry.
        assert!(safe(&t), "{:?}", t.rows);
        assert_eq!(t.rows[0].cells[1], Cell::Suppressed);
        assert_eq!(t.rows[1].cells[0], Cell::Suppressed);
        assert_eq!(t.rows[1].cells[1], Cell::Suppressed);
        assert_eq!(t.totals.as_ref().unwrap().total, Some(Cell::Count(154)));
    }

    #[test]
    fn zeros_are_shown_and_big_cells_are_left_alone() {
        let mut t = table(&[vec![0, 10], vec![30, 40]]);
        protect(&mut t, 5);
        assert!(
            t.rows
                .iter()
                .flat_map(|r| &r.cells)
                .all(|c| matches!(c, Cell::Count(_)))
        );
    }

    proptest! {
        #[test]
        fn no_line_ever_holds_a_single_hidden_entry(
            cells in proptest::collection::vec(proptest::collection::vec(0u64..12, 1..6), 1..6)
        ) {
            let width = cells[0].len();
            let cells: Vec<Vec<u64>> = cells.into_iter().map(|mut r| { r.resize(width, 0); r }).collect();
            let mut t = table(&cells);
            protect(&mut t, 5);
            prop_assert!(safe(&t));
            // Every count from 1 to 4 is hidden.
            for (r, row) in t.rows.iter().enumerate() {
                for (c, cell) in row.cells.iter().enumerate() {
                    let n = cells[r][c];
                    if (1..5).contains(&n) {
                        prop_assert_eq!(cell, &Cell::Suppressed);
                    } else if let Cell::Count(shown) = cell {
                        prop_assert_eq!(*shown, n);
                    }
                }
            }
        }
    }
}
