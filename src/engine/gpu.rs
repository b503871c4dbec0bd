//! The GPU engine: every wgpu call of basinmap lives here.
//!
//! One compute invocation integrates one trajectory (shaders/kernel.wgsl), or, for systems
//! written for it (the networks), one workgroup does (shaders/coop.wgsl), its state in workgroup
//! memory. The grid is cut into tiles that fit the adapter's buffer and dispatch limits; each
//! tile is integrated in step-chunks whose length adapts to keep every dispatch short (~50 ms: no
//! watchdog resets, timely stop once all trajectories of the tile have settled), then `finish`
//! writes the observables and the host reads back status, steps and observables. The host may
//! also step rows of trajectories on from states it holds ([`Engine::continuer`]: the kernel's
//! `advance_rows`), which continues the undecided of maps written in WGSL.

use super::shader::{compose, workgroup_bytes, Shape};
use super::{Continuer, Engine, EngineInfo, Outcomes, Progress, Rows};
use crate::plan::Plan;
use crate::{Error, Result};
use bytemuck::{Pod, Zeroable};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wgpu::util::DeviceExt;

/// Invocations per workgroup (`@workgroup_size` in kernel.wgsl and coop.wgsl).
pub const WORKGROUP: u32 = 64;
/// Most trajectories in one tile, whatever the adapter allows: bounds the staging memory.
const MAX_TILE: usize = 1 << 22;
/// Most persistent workers of kernel.wgsl: about as many invocations as the largest GPUs keep
/// resident at once (an H100/H200: 132 multiprocessors × 2048), so that every lane is busy.
const MAX_WORKERS: usize = 1 << 18;
/// Bytes of the counters buffer (four u32; see `counters` in shaders/common.wgsl) and of its
/// part cleared before each dispatch (the third counts the tile's started trajectories).
const COUNTERS_BYTES: u64 = 16;
const PER_DISPATCH_COUNTERS: u64 = 8;
/// Target wall time of one dispatch.
const TARGET_DISPATCH: Duration = Duration::from_millis(50);
/// Trips of the kernel's canary loop (see `counters` in shaders/common.wgsl).
const CANARY: u32 = 2;
/// Input slot value meaning "this axis is absent".
const NO_TARGET: u32 = u32::MAX;

/// Rust twin of `Config` in shaders/common.wgsl (size checked against naga in the tests).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct Config {
    pub n_total: u32,
    pub index_offset: u32,
    pub nx: u32,
    pub ny: u32,
    pub x_target: u32,
    pub y_target: u32,
    pub chunk_start: u32,
    pub chunk_steps: u32,
    pub max_steps: u32,
    pub samples: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub canary: u32,
    pub workers: u32,
    pub zipped: u32,
    pub record: u32,
}

impl Config {
    /// The configuration of a tile of `len` trajectories from trajectory `start` of `plan`, run
    /// by `workers` invocations, `chunk` steps a dispatch.
    fn of_tile(plan: &Plan, len: usize, start: usize, chunk: u32, workers: usize) -> Config {
        Config {
            n_total: len as u32,
            index_offset: start as u32,
            nx: plan.nx() as u32,
            ny: plan.ny() as u32,
            x_target: plan.x.target as u32,
            y_target: plan.y.as_ref().map_or(NO_TARGET, |y| y.target as u32),
            chunk_start: 0,
            chunk_steps: chunk,
            max_steps: plan.dynamics.steps,
            samples: plan.samples as u32,
            seed_lo: plan.seed as u32,
            seed_hi: (plan.seed >> 32) as u32,
            canary: CANARY,
            workers: workers as u32,
            zipped: plan.zipped.len() as u32,
            record: Record::Nothing as u32,
        }
    }
}

/// A wgpu device ready to integrate plans.
pub struct GpuEngine {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    /// The first error wgpu reported outside an error scope.
    lost: Arc<Mutex<Option<String>>>,
    /// The device was opened with SHADER_F64: kernels may compute in f64.
    f64: bool,
    /// A cap on trajectories per tile below the adapter's own (tests: tiling must not matter).
    tile_cap: Option<usize>,
    /// Steps per dispatch, fixed (tests); adapted to the dispatch time otherwise.
    chunk: Option<u32>,
    /// A cap on persistent workers below MAX_WORKERS (tests: refilling must not matter).
    workers_cap: Option<usize>,
    /// Staging buffers whose copies have been read, kept for the next ones: a run's readbacks
    /// (a tile's outcomes, a dispatch's counters) reuse a few buffers instead of allocating
    /// mappable memory for each.
    staging: Mutex<Vec<wgpu::Buffer>>,
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    // Vulkan, Metal, DX12: the native compute APIs. GL would list llvmpipe a second time.
    desc.backends = wgpu::Backends::PRIMARY;
    wgpu::Instance::new(desc)
}

/// Every adapter wgpu sees (for `basinmap info`).
pub fn adapters() -> Vec<wgpu::AdapterInfo> {
    pollster::block_on(instance().enumerate_adapters(wgpu::Backends::PRIMARY))
        .iter()
        .map(|a| a.get_info())
        .collect()
}

/// True for adapters that are real hardware (what `--engine auto` may pick).
pub fn is_hardware(info: &wgpu::AdapterInfo) -> bool {
    matches!(
        info.device_type,
        wgpu::DeviceType::DiscreteGpu | wgpu::DeviceType::IntegratedGpu | wgpu::DeviceType::VirtualGpu
    )
}

/// The adapters `GpuEngine::new` may open, best first.
fn candidates(allow_software: bool) -> Vec<wgpu::Adapter> {
    let mut adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::PRIMARY));
    adapters.retain(|a| allow_software || is_hardware(&a.get_info()));
    adapters.sort_by_key(|a| preference(a.get_info().device_type));
    adapters
}

fn preference(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

impl GpuEngine {
    /// Opens the best adapter: discrete before integrated before virtual GPUs, then (only with
    /// `allow_software`) software adapters such as llvmpipe. `Ok(None)` when none qualifies.
    pub fn new(allow_software: bool) -> Result<Option<GpuEngine>> {
        match candidates(allow_software).into_iter().next() {
            Some(adapter) => Ok(Some(Self::open(adapter)?)),
            None => Ok(None),
        }
    }

    /// Opens every adapter that qualifies (see [`GpuEngine::new`]), best first: what
    /// `--devices all` spreads a map over.
    pub fn all(allow_software: bool) -> Result<Vec<GpuEngine>> {
        candidates(allow_software).into_iter().map(Self::open).collect()
    }

    fn open(adapter: wgpu::Adapter) -> Result<GpuEngine> {
        let info = adapter.get_info();
        let al = adapter.limits();
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: al.max_storage_buffer_binding_size,
            max_buffer_size: al.max_buffer_size,
            max_compute_workgroups_per_dimension: al.max_compute_workgroups_per_dimension,
            max_compute_workgroup_storage_size: al.max_compute_workgroup_storage_size,
            ..wgpu::Limits::default()
        }
        .using_resolution(wgpu::Limits::default());
        // f64 where the adapter has it, for --precision f64 (most hardware does, at a fraction
        // of the f32 rate on consumer cards).
        let f64 = adapter.features().contains(wgpu::Features::SHADER_F64);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("basinmap"),
            required_limits: limits,
            required_features: if f64 { wgpu::Features::SHADER_F64 } else { wgpu::Features::empty() },
            ..Default::default()
        }))
        .map_err(|e| Error::Gpu(format!("cannot open {}: {e}", info.name)))?;
        let lost = Arc::new(Mutex::new(None));
        let sink = lost.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| e.to_string());
        }));
        Ok(GpuEngine { device, queue, info, lost, f64, tile_cap: None, chunk: None, workers_cap: None, staging: Mutex::new(Vec::new()) })
    }

    /// Starts every tile with `n` steps per dispatch and never takes more (results must not
    /// depend on it).
    pub fn with_chunk(mut self, n: u32) -> Self {
        self.chunk = Some(n.max(1));
        self
    }

    /// Caps the persistent workers of a tile, so that each takes many trajectories one after
    /// the other (results must not depend on it).
    pub fn with_max_workers(mut self, n: usize) -> Self {
        self.workers_cap = Some(n.max(1));
        self
    }

    /// Caps the trajectories per tile (results must not depend on it).
    pub fn with_max_tile(mut self, n: usize) -> Self {
        self.tile_cap = Some(n.max(1));
        self
    }

    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// Whether this adapter computes in f64 (SHADER_F64), so that `--precision f64` runs here.
    pub fn has_f64(&self) -> bool {
        self.f64
    }

    /// Why `plan` cannot run on this adapter in its precision, if it cannot.
    pub fn precision_obstacle(&self, plan: &Plan) -> Option<String> {
        if plan.dynamics.precision != crate::dynamics::Precision::F64 {
            return None;
        }
        if let Some(why) = super::f64_obstacle(&plan.system) {
            return Some(why);
        }
        (!self.f64).then(|| format!("{} has no f64 in shaders (wgpu feature SHADER_F64)", self.info.name))
    }

    fn check(&self) -> Result<()> {
        match self.lost.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(Error::Gpu(e)),
            None => Ok(()),
        }
    }

    /// Most trajectories per tile under the adapter's binding and workgroup limits.
    fn max_tile(&self, plan: &Plan) -> usize {
        let limits = self.device.limits();
        let steps_bytes = 4 * (1 + 4 * has_probe(plan) as usize);
        let widest = (real_bytes(plan) * state_stride(plan)).max(4 * out_stride(plan)).max(steps_bytes) as u64;
        let by_binding = (limits.max_storage_buffer_binding_size.min(limits.max_buffer_size) / widest) as usize;
        let by_dispatch = limits.max_compute_workgroups_per_dimension as usize
            * limits.max_compute_workgroups_per_dimension as usize
            * per_workgroup(plan) as usize;
        by_binding.min(by_dispatch).min(MAX_TILE).min(self.tile_cap.unwrap_or(MAX_TILE))
    }

    /// Builds the pipelines of the kernel's entry points `entries` (`integrate`, `finish`,
    /// `advance_rows`) for `plan`, with WGSL validation errors returned rather than raised.
    fn pipelines<const N: usize>(&self, plan: &Plan, entries: [&str; N]) -> Result<(wgpu::BindGroupLayout, [wgpu::ComputePipeline; N])> {
        let source = compose(&Shape::of(plan)).source;
        if plan.system.spec().cooperative {
            let need = workgroup_bytes(&source)?;
            let allowed = self.device.limits().max_compute_workgroup_storage_size as u64;
            if need > allowed {
                return Err(Error::Gpu(format!(
                    "{} with {} state components needs {:.1} KiB of workgroup memory per trajectory (its state and work arrays), and {} allows {:.1} KiB: use --engine cpu, or a smaller network",
                    plan.system.spec().name,
                    plan.n_state(),
                    need as f64 / 1024.0,
                    self.info.name,
                    allowed as f64 / 1024.0
                )));
            }
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("basinmap.kernel"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let entry = |binding: u32, ty: wgpu::BufferBindingType| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer { ty, has_dynamic_offset: false, min_binding_size: None },
            count: None,
        };
        let rw = wgpu::BufferBindingType::Storage { read_only: false };
        let layout = self.device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("basinmap.bindings"),
            entries: &[
                entry(0, wgpu::BufferBindingType::Uniform),
                entry(1, wgpu::BufferBindingType::Storage { read_only: true }),
                entry(2, rw),
                entry(3, rw),
                entry(4, rw),
                entry(5, rw),
                entry(6, rw),
                entry(7, wgpu::BufferBindingType::Storage { read_only: true }),
                entry(8, rw),
            ],
        });
        let pipeline_layout = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("basinmap.layout"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let make = |entry: &str| {
            self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let pipelines = entries.map(make);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!("the kernel failed to build: {e}")));
        }
        Ok((layout, pipelines))
    }

    /// Submits one dispatch of `pipeline` over `groups` workgroups, zeroing the first `clear.1`
    /// bytes of `clear.0` first.
    fn dispatch(&self, pipeline: &wgpu::ComputePipeline, bind_group: &wgpu::BindGroup, groups: (u32, u32), clear: (&wgpu::Buffer, u64)) {
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.clear_buffer(clear.0, 0, Some(clear.1));
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("basinmap.dispatch"),
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(groups.0, groups.1, 1);
        }
        self.queue.submit([enc.finish()]);
    }

    /// The kernel's counters: trajectories still running, invocations whose loops were cut
    /// short, trajectories started.
    fn counters(&self, buf: &wgpu::Buffer) -> Result<(u32, u32, u32)> {
        let bytes = self.read(buf, COUNTERS_BYTES)?;
        let words: &[u32] = bytemuck::cast_slice(&bytes);
        Ok((words[0], words[1], words[2]))
    }

    /// Zeroes `buffers` (a tile starts with no trajectory started and no worker holding one).
    fn clear(&self, buffers: &[&wgpu::Buffer]) {
        let mut enc = self.device.create_command_encoder(&Default::default());
        for b in buffers {
            enc.clear_buffer(b, 0, None);
        }
        self.queue.submit([enc.finish()]);
    }

    /// Starts copying a finished tile's counters, status, steps and observables to the host:
    /// the copy is queued before the next tile's dispatches, which overwrite those buffers, and
    /// [`Readback::collect`] takes it once the next tile is under way, so that the GPU does not
    /// wait for the host between tiles.
    fn start_readback(&self, sources: [(&wgpu::Buffer, u64); 4], at: std::ops::Range<usize>) -> Readback {
        Readback { staged: self.stage(&sources), sizes: sources.map(|s| s.1), at }
    }

    /// Queues copies of `sources` (buffer, bytes), one after the other, into a staging buffer
    /// (a free one that is large enough, or a new one), and its mapping once they are done.
    fn stage(&self, sources: &[(&wgpu::Buffer, u64)]) -> Staged {
        let total: u64 = sources.iter().map(|s| s.1).sum();
        let free = {
            let mut pool = self.staging.lock().unwrap_or_else(|p| p.into_inner());
            // The smallest that fits: a counters read must not take a tile's buffer.
            let fits = pool.iter().enumerate().filter(|(_, b)| b.size() >= total).min_by_key(|(_, b)| b.size()).map(|(k, _)| k);
            fits.map(|k| pool.swap_remove(k))
        };
        let buffer = free.unwrap_or_else(|| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("basinmap.staging"),
                size: total,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        let mut offset = 0;
        for &(src, bytes) in sources {
            enc.copy_buffer_to_buffer(src, 0, &buffer, offset, bytes);
            offset += bytes;
        }
        self.queue.submit([enc.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        buffer.slice(..total).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        Staged { buffer, len: total, rx }
    }

    /// Waits for a staged copy and returns its bytes.
    fn fetch(&self, staged: Staged) -> Result<Vec<u8>> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        staged
            .rx
            .recv()
            .map_err(|_| Error::Gpu("readback was dropped".into()))?
            .map_err(|e| Error::Gpu(format!("readback failed: {e}")))?;
        let data = staged.buffer.slice(..staged.len).get_mapped_range().map_err(|e| Error::Gpu(format!("readback: {e}")))?.to_vec();
        staged.buffer.unmap();
        self.staging.lock().unwrap_or_else(|p| p.into_inner()).push(staged.buffer);
        self.check()?;
        Ok(data)
    }

    /// Copies `bytes` of `src` to the host.
    fn read(&self, src: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        self.fetch(self.stage(&[(src, bytes)]))
    }
}

/// The kernel's buffers for tiles of up to `rows` trajectories, and their bind group.
struct Buffers {
    config: wgpu::Buffer,
    state: wgpu::Buffer,
    status: wgpu::Buffer,
    steps: wgpu::Buffer,
    observables: wgpu::Buffer,
    counters: wgpu::Buffer,
    workers: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

impl Buffers {
    /// Buffers for `rows` trajectories run by `workers_max` workers, with `extra_reals` more
    /// reals after the trajectories' states (a continuation's trace: kernel.wgsl `advance_rows`).
    fn new(engine: &GpuEngine, plan: &Plan, layout: &wgpu::BindGroupLayout, rows: usize, workers_max: usize, extra_reals: usize) -> Result<Buffers> {
        let device = &engine.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let storage = |label: &str, bytes: usize| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes.max(4) as u64,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let table = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("basinmap.table"),
            contents: &table_bytes(plan),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let config = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("basinmap.config"),
            size: std::mem::size_of::<Config>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let state = storage("basinmap.state", (rows * state_stride(plan) + extra_reals) * real_bytes(plan));
        let status = storage("basinmap.status", rows * 4);
        // The steps, then the return probe's counters (four a trajectory; kernel.wgsl `probe_count`).
        let steps = storage("basinmap.steps", rows * 4 * (1 + 4 * has_probe(plan) as usize));
        // Each trajectory's observables, then the memory the host continues from (`N_OUT`).
        let observables = storage("basinmap.observables", rows * out_stride(plan) * 4);
        let counters = storage("basinmap.counters", COUNTERS_BYTES as usize);
        let workers = storage("basinmap.workers", workers_max * 4);
        let mut data = plan.system.data();
        if data.is_empty() {
            data.push(0.0);
        }
        let data = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("basinmap.data"),
            contents: bytemuck::cast_slice(&data),
            usage: wgpu::BufferUsages::STORAGE,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!("cannot allocate buffers for {rows} trajectories: {e}")));
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("basinmap.bind_group"),
            layout,
            entries: &[&config, &table, &state, &status, &steps, &observables, &counters, &data, &workers]
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
                .collect::<Vec<_>>(),
        });
        Ok(Buffers { config, state, status, steps, observables, counters, workers, bind_group })
    }
}

/// Steps per dispatch of a continuation, at most: a dispatch of rows that each take this many
/// steps stays short on any adapter (and under llvmpipe's loop limit for small systems).
const CONTINUE_CHUNK: u32 = 4096;

/// Rows continued on the GPU ([`Engine::continuer`]): the `advance_rows` entry point of
/// shaders/kernel.wgsl, with buffers for `capacity` rows.
struct GpuContinuer<'a> {
    engine: &'a GpuEngine,
    plan: &'a Plan,
    advance: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    buffers: Buffers,
    capacity: usize,
    /// Reals the state buffer holds after the rows' states, for a trace.
    trace_room: usize,
    /// Steps per dispatch, halved where an adapter cut the loops short.
    cap: u32,
}

impl GpuContinuer<'_> {
    /// Writes the rows' states, clocks, statuses and trajectory indices into the buffers.
    fn upload(&self, rows: &Rows) {
        let (plan, queue, b) = (self.plan, &self.engine.queue, &self.buffers);
        let stride = state_stride(plan);
        let mut state = vec![0.0f64; rows.len() * stride];
        for k in 0..rows.len() {
            state[k * stride..k * stride + rows.n_z].copy_from_slice(rows.z(k));
        }
        queue.write_buffer(&b.state, 0, &real_bytes_of(plan, &state));
        queue.write_buffer(&b.status, 0, bytemuck::cast_slice(&rows.status));
        queue.write_buffer(&b.steps, 0, bytemuck::cast_slice(&rows.clock));
        queue.write_buffer(&b.workers, 0, bytemuck::cast_slice(&rows.index));
    }

    /// Steps `rows` `steps` steps (see [`Continuer`]), returning what `record` asks for.
    fn step_rows(&mut self, rows: &mut Rows, steps: u32, record: Record) -> Result<Vec<f64>> {
        let (plan, engine) = (self.plan, self.engine);
        let n = rows.len();
        let n_state = plan.n_state();
        let n_z = n_state + plan.dynamics.method.memory().len(n_state);
        if n > self.capacity || rows.n_z != n_z || rows.z.len() != n * n_z || rows.clock.len() != n || rows.status.len() != n {
            return Err(Error::Gpu(format!("a continuation of {n} rows of {} values does not fit buffers for {} rows of {n_z}", rows.n_z, self.capacity)));
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let traced = match record {
            Record::Nothing => 0,
            Record::Path => n * steps as usize * 2 * n_state,
            Record::Ranges => n * 2 * plan.n_obs(),
        };
        if traced > self.trace_room {
            let limits = engine.device.limits();
            let bytes = ((self.capacity * state_stride(plan) + traced) * real_bytes(plan)) as u64;
            if bytes > limits.max_storage_buffer_binding_size.min(limits.max_buffer_size) {
                return Err(Error::Gpu(format!("a trace of {steps} steps of {n} rows takes {bytes} bytes, more than {} binds", engine.info.name)));
            }
            // Room to spare: a batch's traces vary a little in length as its rows finish.
            let room = (traced + traced / 4).min(((limits.max_storage_buffer_binding_size.min(limits.max_buffer_size) / real_bytes(plan) as u64) as usize).saturating_sub(self.capacity * state_stride(plan)));
            self.buffers = Buffers::new(engine, plan, &self.layout, self.capacity, self.capacity, room)?;
            self.trace_room = room;
        }
        let groups = dispatch_size(n, WORKGROUP, engine.device.limits().max_compute_workgroups_per_dimension);
        self.upload(rows);
        let mut left = steps;
        loop {
            let chunk = left.min(self.cap);
            let config = Config { chunk_start: steps - left, record: record as u32, ..Config::of_tile(plan, n, 0, chunk, n) };
            let b = &self.buffers;
            engine.queue.write_buffer(&b.config, 0, bytemuck::bytes_of(&config));
            engine.dispatch(&self.advance, &b.bind_group, groups, (&b.counters, COUNTERS_BYTES));
            let (_, cut, _) = engine.counters(&b.counters)?;
            if cut > 0 {
                // The rows' state is no longer trustworthy: start again from the host's, shorter.
                if chunk <= 1 {
                    return Err(Error::Gpu(format!("{} stops shader loops after a fixed number of iterations, and one step of this system needs more", engine.info.name)));
                }
                self.cap = chunk / 2;
                self.upload(rows);
                left = steps;
                continue;
            }
            left -= chunk;
            if left == 0 {
                break;
            }
        }
        let b = &self.buffers;
        let stride = state_stride(plan);
        let state_bytes = ((n * stride + traced) * real_bytes(plan)) as u64;
        let (row_bytes, out_bytes) = ((n * 4) as u64, (n * out_stride(plan) * 4) as u64);
        let data = engine.fetch(engine.stage(&[(&b.state, state_bytes), (&b.status, row_bytes), (&b.steps, row_bytes), (&b.observables, out_bytes)]))?;
        let (state, rest) = data.split_at(state_bytes as usize);
        let (status, rest) = rest.split_at(row_bytes as usize);
        let (clock, observables) = rest.split_at(row_bytes as usize);
        let mut state: Vec<f64> = if real_bytes(plan) == 8 {
            bytemuck::pod_collect_to_vec::<u8, f64>(state)
        } else {
            bytemuck::pod_collect_to_vec::<u8, f32>(state).into_iter().map(f64::from).collect()
        };
        for k in 0..n {
            rows.z[k * n_z..(k + 1) * n_z].copy_from_slice(&state[k * stride..k * stride + n_z]);
        }
        rows.status = bytemuck::pod_collect_to_vec(status);
        rows.clock = bytemuck::pod_collect_to_vec(clock);
        let observables: Vec<f32> = bytemuck::pod_collect_to_vec(observables);
        let (n_out, n_obs) = (out_stride(plan), rows.n_obs);
        rows.observables = (0..n).flat_map(|k| observables[k * n_out..k * n_out + n_obs].iter().copied()).collect();
        let recorded = state.split_off(n * stride);
        Ok(match record {
            // The kernel's stride is N_OBS; the rows' observables are the system's.
            Record::Ranges => recorded.chunks_exact(plan.n_obs()).flat_map(|r| r[..n_obs].iter().copied()).collect(),
            _ => recorded,
        })
    }
}

/// What a continuation records besides the rows' ends (kernel.wgsl `advance_rows`, cfg.record).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Record {
    Nothing = 0,
    /// [`Continuer::trace`].
    Path = 1,
    /// [`Continuer::ranges`].
    Ranges = 2,
}

impl Continuer for GpuContinuer<'_> {
    fn advance(&mut self, rows: &mut Rows, steps: u32) -> Result<()> {
        self.step_rows(rows, steps, Record::Nothing).map(drop)
    }

    fn trace(&mut self, rows: &mut Rows, steps: u32) -> Result<Vec<f64>> {
        self.step_rows(rows, steps, Record::Path)
    }

    fn ranges(&mut self, rows: &mut Rows, steps: u32) -> Result<Vec<f64>> {
        self.step_rows(rows, steps, Record::Ranges)
    }
}

/// A copy to the host under way (see [`GpuEngine::stage`]).
struct Staged {
    buffer: wgpu::Buffer,
    /// Bytes copied (the buffer may be larger).
    len: u64,
    rx: std::sync::mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
}

/// A tile's outcomes on their way to the host (see [`GpuEngine::start_readback`]).
struct Readback {
    staged: Staged,
    /// Bytes of counters, status, steps and observables, in that order.
    sizes: [u64; 4],
    /// The tile's outcomes' place in the run's.
    at: std::ops::Range<usize>,
}

impl Readback {
    /// Waits for the copy, checks that `finish` ran whole, and writes the tile into `out`.
    fn collect(self, engine: &GpuEngine, out: &mut Outcomes) -> Result<()> {
        let data = engine.fetch(self.staged)?;
        let [c, st, sp, _] = self.sizes.map(|b| b as usize);
        let counters: &[u32] = bytemuck::cast_slice(&data[..c]);
        if counters[1] > 0 {
            return Err(Error::Gpu(format!(
                "{} stops shader loops after a fixed number of iterations, and the observables of this system need more; use --engine cpu",
                engine.info.name
            )));
        }
        let (len, n_obs) = (self.at.len(), out.n_obs);
        out.status[self.at.clone()].copy_from_slice(bytemuck::cast_slice(&data[c..c + st]));
        out.steps[self.at.clone()].copy_from_slice(bytemuck::cast_slice(&data[c + st..c + st + sp]));
        let values = bytemuck::cast_slice::<u8, f32>(&data[c + st + sp..]);
        let n_mem = out.memory.len() / out.len().max(1);
        if n_mem == 0 {
            out.observables[self.at.start * n_obs..self.at.end * n_obs].copy_from_slice(&values[..len * n_obs]);
        } else {
            // Each trajectory's observables, then its memory.
            for (k, row) in values[..len * (n_obs + n_mem)].chunks_exact(n_obs + n_mem).enumerate() {
                let i = self.at.start + k;
                out.observables[i * n_obs..(i + 1) * n_obs].copy_from_slice(&row[..n_obs]);
                out.memory[i * n_mem..(i + 1) * n_mem].copy_from_slice(&row[n_obs..]);
            }
        }
        Ok(())
    }
}

/// The kernel's `table`: inputs, axis values and settings, rounded once to the kernel's
/// precision (the CPU engine rounds the same way).
fn table_bytes(plan: &Plan) -> Vec<u8> {
    let mut table: Vec<f64> = plan.inputs.clone();
    table.extend(plan.dynamics.settings());
    table.extend(&plan.x.values);
    match &plan.y {
        Some(y) => table.extend(&y.values),
        // cfg.ny is 1: one unused value keeps the settings where the kernel reads them.
        None => table.push(0.0),
    }
    debug_assert_eq!(table.len(), plan.inputs.len() + crate::dynamics::Setting::ALL.len() + plan.nx() + plan.ny());
    table.extend(settings(&plan.dynamics));
    // The axes stepped with x: their targets, then their values axis by axis.
    table.extend(plan.zipped.iter().map(|a| a.target as f64));
    for a in &plan.zipped {
        table.extend(&a.values);
    }
    real_bytes_of(plan, &table)
}

/// `values` as the kernel's reals (f64, or rounded to f32), in bytes.
fn real_bytes_of(plan: &Plan, values: &[f64]) -> Vec<u8> {
    if real_bytes(plan) == 8 {
        bytemuck::cast_slice(values).to_vec()
    } else {
        bytemuck::cast_slice(&values.iter().map(|&v| v as f32).collect::<Vec<f32>>()).to_vec()
    }
}

/// Values per trajectory in the kernel's `observables`: its observables, then the memory the
/// host continues from (WGSL `N_OUT`).
fn out_stride(plan: &Plan) -> usize {
    plan.n_obs() + plan.kept_memory()
}

/// Bytes of the kernel's `real`: 8 for a plan in f64, else 4.
fn real_bytes(plan: &Plan) -> usize {
    if plan.dynamics.precision == crate::dynamics::Precision::F64 {
        8
    } else {
        4
    }
}

/// The run's stop settings at the end of the kernel's table, in the order of the `S_*`
/// constants of shaders/common.wgsl.
fn settings(d: &crate::dynamics::Dynamics) -> [f64; 4] {
    [d.tol, d.bound, d.noise_scale(), d.escape * d.escape]
}

/// Whether the kernel runs a return probe ([`super::returns`]).
fn has_probe(plan: &Plan) -> bool {
    super::returns::Rule::of_plan(plan).is_some()
}

/// Values per trajectory in the kernel's `state`: the state, then the optimizer's memory, then
/// the return probe's reals.
fn state_stride(plan: &Plan) -> usize {
    let rule = super::returns::Rule::of_plan(plan);
    plan.n_state() + plan.dynamics.method.memory().len(plan.n_state()) + super::shader::probe_len(rule.as_ref(), plan.n_state())
}

/// Trajectories one workgroup integrates: WORKGROUP, or 1 in the cooperative kernel.
fn per_workgroup(plan: &Plan) -> u32 {
    if plan.system.spec().cooperative {
        1
    } else {
        WORKGROUP
    }
}

/// Workgroup counts covering `n` trajectories, `per_group` to a workgroup, within the
/// per-dimension limit.
fn dispatch_size(n: usize, per_group: u32, max_per_dim: u32) -> (u32, u32) {
    let groups = n.div_ceil(per_group as usize).max(1);
    let x = groups.min(max_per_dim as usize);
    (x as u32, groups.div_ceil(x) as u32)
}

impl Engine for GpuEngine {
    fn info(&self) -> EngineInfo {
        EngineInfo {
            kind: "gpu",
            device: self.info.name.clone(),
            detail: format!("{:?} {:?}, driver {} {}", self.info.backend, self.info.device_type, self.info.driver, self.info.driver_info),
        }
    }

    fn continuer<'a>(&'a self, plan: &'a Plan, rows: usize) -> Result<Option<Box<dyn Continuer + 'a>>> {
        if plan.system.spec().cooperative {
            return Ok(None);
        }
        if let Some(why) = self.precision_obstacle(plan) {
            return Err(super::f64_refused(&why));
        }
        let (layout, [advance]) = self.pipelines(plan, ["advance_rows"])?;
        let buffers = Buffers::new(self, plan, &layout, rows.max(1), rows.max(1), 0)?;
        let cap = self.chunk.unwrap_or(CONTINUE_CHUNK);
        Ok(Some(Box::new(GpuContinuer { engine: self, plan, advance, layout, buffers, capacity: rows, trace_room: 0, cap })))
    }

    fn run(&self, plan: &Plan, progress: Progress<'_>) -> Result<Outcomes> {
        if let Some(why) = self.precision_obstacle(plan) {
            return Err(super::f64_refused(&why));
        }
        let (layout, [integrate, finish]) = self.pipelines(plan, ["integrate", "finish"])?;
        // A shard computes its part only; outcome k is trajectory first + k.
        let first = plan.range().start;
        let n = plan.range().len();
        let n_obs = plan.n_obs();
        let mut out = Outcomes::zeroed(n, n_obs);
        out.memory = vec![0.0; n * plan.kept_memory()];
        let n_out = out_stride(plan);
        let tiles = plan.tiles(self.max_tile(plan));
        let tile_max = tiles.iter().map(|t| t.len()).max().unwrap_or(0);

        let d = &plan.dynamics;
        let cooperative = plan.system.spec().cooperative;
        let max_workers = MAX_WORKERS.min(self.workers_cap.unwrap_or(MAX_WORKERS));
        let workers_max = if cooperative { 1 } else { tile_max.min(max_workers) };
        let Buffers { config: config_buf, state: _, status: status_buf, steps: steps_buf, observables: obs_buf, counters: counters_buf, workers: workers_buf, bind_group } =
            Buffers::new(self, plan, &layout, tile_max, workers_max, 0)?;

        let max_per_dim = self.device.limits().max_compute_workgroups_per_dimension;
        // Steps per dispatch: adapted to TARGET_DISPATCH, and capped below what made an adapter
        // cut an invocation's loops short (llvmpipe stops every loop of an invocation after a
        // fixed total of iterations; the kernel's canary loop reports it).
        let mut cap: u32 = self.chunk.unwrap_or(1 << 20);
        let mut chunk: u32 = self.chunk.unwrap_or(64);
        let mut done = 0u64;
        let mut pending: Option<Readback> = None;
        for tile in tiles {
            let len = tile.len();
            let workers = if cooperative { len } else { len.min(max_workers) };
            let groups = dispatch_size(workers, per_workgroup(plan), max_per_dim);
            let mut config = Config::of_tile(plan, len, tile.start, chunk, workers);
            self.clear(&[&counters_buf, &workers_buf]);
            let mut first_dispatch = true;
            loop {
                // kernel.wgsl counts trips of its workers' loop (steps and starts); coop.wgsl
                // steps every trajectory of the tile in lockstep from chunk_start.
                config.chunk_steps = if cooperative { chunk.min(cap).min(d.steps - config.chunk_start) } else { chunk.min(cap) };
                self.queue.write_buffer(&config_buf, 0, bytemuck::bytes_of(&config));
                let t0 = Instant::now();
                self.dispatch(&integrate, &bind_group, groups, (&counters_buf, PER_DISPATCH_COUNTERS));
                let (running, cut, started) = self.counters(&counters_buf)?;
                let elapsed = t0.elapsed();
                if first_dispatch {
                    // The last tile's readback was queued before this dispatch and is done by now.
                    if let Some(r) = pending.take() {
                        r.collect(self, &mut out)?;
                    }
                    first_dispatch = false;
                }
                if cut > 0 {
                    // The tile's state is no longer trustworthy: start it again, shorter.
                    if config.chunk_steps == 1 {
                        return Err(Error::Gpu(format!(
                            "{} stops shader loops after a fixed number of iterations, and one step of this system needs more; use --engine cpu",
                            self.info.name
                        )));
                    }
                    cap = config.chunk_steps / 2;
                    chunk = cap;
                    config.chunk_start = 0;
                    self.clear(&[&counters_buf, &workers_buf]);
                    continue;
                }
                config.chunk_start += config.chunk_steps;
                let settled = if cooperative {
                    len as u64 - running as u64
                } else {
                    (started as u64).min(len as u64) - running as u64
                };
                progress(done + settled, n as u64);
                let finished = if cooperative {
                    running == 0 || config.chunk_start >= d.steps
                } else {
                    running == 0 && started as usize >= len
                };
                if finished {
                    break;
                }
                // Aim the next dispatch at TARGET_DISPATCH.
                let scale = TARGET_DISPATCH.as_secs_f64() / elapsed.as_secs_f64().max(1e-4);
                chunk = ((chunk as f64 * scale.clamp(0.25, 4.0)) as u32).clamp(16.min(cap), cap);
            }
            // Observables: `finish` runs one invocation per trajectory of the tile, not per worker.
            let (gx, gy) = dispatch_size(len, per_workgroup(plan), max_per_dim);
            self.dispatch(&finish, &bind_group, (gx, gy), (&counters_buf, COUNTERS_BYTES));
            let at = tile.start - first..tile.end - first;
            let bytes = (len * 4) as u64;
            pending = Some(self.start_readback(
                [(&counters_buf, COUNTERS_BYTES), (&status_buf, bytes), (&steps_buf, bytes), (&obs_buf, (len * n_out * 4).max(4) as u64)],
                at,
            ));
            done += len as u64;
            progress(done, n as u64);
        }
        if let Some(r) = pending.take() {
            r.collect(self, &mut out)?;
        }
        // A tile's staging buffer can be large: not kept past the run.
        self.staging.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.check()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_covers_every_trajectory() {
        for per in [1, WORKGROUP] {
            for (n, max) in [(1usize, 65535u32), (64, 65535), (65, 65535), (10_000_000, 65535), (1000, 3)] {
                let (x, y) = dispatch_size(n, per, max);
                assert!(x <= max);
                assert!(x as usize * y as usize * per as usize >= n, "{n} {per} {max}");
            }
        }
    }
}
