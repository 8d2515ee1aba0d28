//! Rendering cost per page kind (criterion): a 90-entry list fragment, a product page, a spec
//! table and a shop list, from the 100,000-product catalogue.
//!
//! `cargo bench -p danawa-sim --bench render`

use criterion::{criterion_group, criterion_main, Criterion};
use danawa_sim::catalogue::shops::shop_lists;
use danawa_sim::catalogue::specs::spec_table;
use danawa_sim::markup::list_fragment::{render, ListPage};
use danawa_sim::markup::shapes::Shapes;
use danawa_sim::markup::{mall_list, product_page, spec_table as spec_markup};
use danawa_sim::{Catalogue, CatalogueParams};

fn benches(c: &mut Criterion) {
    let params = CatalogueParams { products_per_category: 11_112, ..CatalogueParams::default() };
    c.bench_function("generate 100k-product catalogue", |b| b.iter(|| Catalogue::generate(&params)));
    let catalogue = Catalogue::generate(&params);
    let category = &catalogue.categories[8];
    let listing = category.listing(&[], &[4015]);
    c.bench_function("listing filter over 11k products", |b| b.iter(|| category.listing(&[], &[4015])));
    c.bench_function("list fragment, 90 entries", |b| {
        b.iter(|| {
            render(&ListPage {
                catalogue: &catalogue,
                shapes: Shapes::new(catalogue.params.seed, 0.5),
                category,
                entries: &listing[900..990],
                page: 11,
                list_count: 90,
                total: listing.len(),
            })
        })
    });
    let pcode = catalogue.pcodes().nth(1234).unwrap_or(0);
    let Some(v) = catalogue.find(pcode) else { return };
    let seed = catalogue.params.seed;
    c.bench_function("product page", |b| b.iter(|| product_page::render(seed, &v, &shop_lists(seed, &v))));
    c.bench_function("spec table", |b| b.iter(|| spec_markup::render("title", &spec_table(seed, &v), false)));
    c.bench_function("shop lists", |b| b.iter(|| mall_list::render_classic(&v, &shop_lists(seed, &v))));
    c.bench_function("shop lists, #defaultMallList", |b| {
        b.iter(|| mall_list::render_default(seed, &v, &shop_lists(seed, &v), &[]))
    });
}

criterion_group! {
    name = render_benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(render_benches);
