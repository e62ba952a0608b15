use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::*;

fn leaked(keep_alive: Duration, max_threads: usize) -> &'static Pool {
    Box::leak(Box::new(Pool::new(keep_alive, max_threads)))
}

#[tokio::test]
async fn hands_back_the_result_and_the_panic() {
    let pool = leaked(Duration::from_millis(200), 4);
    let name = run_on(pool, || std::thread::current().name().map(String::from)).await;
    assert_eq!(name.unwrap().as_deref(), Some("cronport-files"));
    let failed = run_on(pool, || -> u8 { panic!("boom") }).await.unwrap_err();
    assert!(failed.to_string().contains("boom"), "{failed}");
    // The thread that caught the panic serves on.
    assert_eq!(run_on(pool, || 7).await.unwrap(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_beyond_the_most_threads_waits_its_turn() {
    let pool = leaked(Duration::from_millis(200), 3);
    let busy = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let work = (0..12).map(|i| {
        let (busy, most) = (busy.clone(), most.clone());
        run_on(pool, move || {
            let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            busy.fetch_sub(1, Ordering::SeqCst);
            i
        })
    });
    let done: Vec<usize> = futures::future::join_all(work)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(done, (0..12).collect::<Vec<_>>());
    assert_eq!(most.load(Ordering::SeqCst), 3, "three threads, all used");
    assert!(pool.lock().threads <= 3);
}

/// The point of the pool: after a burst, a steady trickle of work keeps
/// one thread busy, and the threads the burst added end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_a_burst_added_end_while_steady_work_goes_on() {
    let keep_alive = Duration::from_millis(150);
    let pool = leaked(keep_alive, 64);
    let burst = (0..32).map(|_| run_on(pool, || std::thread::sleep(Duration::from_millis(50))));
    futures::future::join_all(burst).await;
    let started = pool.lock().threads;
    assert!(started >= 16, "{started} threads for a burst of 32");
    // One piece every 10 ms: tokio's hand-out in turn would keep all 32
    // alive; taking the newest idle thread lets 31 of them time out.
    let start = Instant::now();
    while start.elapsed() < keep_alive * 8 {
        run_on(pool, || std::thread::sleep(Duration::from_millis(1)))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let left = pool.lock().threads;
    assert!(left <= 2, "{left} threads left after the burst");
    // And once the trickle stops, the last one ends too.
    let start = Instant::now();
    while pool.lock().threads > 0 && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(pool.lock().threads, 0);
}
