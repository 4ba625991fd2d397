// Command dr-syncer-testenv-provisioner is the dynamic volume provisioner of the local test clusters
// (tests/testenv/testenv.sh runs one per cluster, beside its controller manager).
//
// It is the provision controller of sig-storage-lib-external-provisioner, the library the Kubernetes
// storage SIG maintains for external provisioners (NFS subdir, local-path style and others use it), with a
// small hostPath backend in the manner of that library's hostpath example and of rancher's
// local-path-provisioner (kind's default class): for each claim of a StorageClass whose provisioner is
// --provisioner, once the scheduler has picked a node for the claim's first pod (WaitForFirstConsumer), it
// makes a folder under --root on this machine (every fake node of the test clusters is this machine) and
// creates a hostPath PersistentVolume for it, pinned to that node by node affinity; the cluster's
// PersistentVolume controller then binds the claim, and the scheduler binds the pod. A volume whose claim
// is gone is deleted with its folder when its reclaim policy is Delete. Filesystem volumes only; claims with
// a selector are refused, as real dynamic provisioners refuse them. No volume is ever mounted: the test
// clusters' nodes are simulated (KWOK).
//
// It serves no port (no metrics, no leader election: one instance per cluster) and logs to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

// The node label the volumes' node affinity names (every node has it; the fake nodes too).
const hostnameLabel = "kubernetes.io/hostname"

type hostPathProvisioner struct {
	name string
	root string
}

var (
	_ controller.Provisioner      = (*hostPathProvisioner)(nil)
	_ controller.BlockProvisioner = (*hostPathProvisioner)(nil)
)

func (p *hostPathProvisioner) Provision(
	_ context.Context,
	options controller.ProvisionOptions,
) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	claim := options.PVC
	if claim.Spec.Selector != nil {
		return nil, controller.ProvisioningFinished,
			fmt.Errorf("claims with a selector are not supported by %s", p.name)
	}
	if claim.Spec.VolumeMode != nil && *claim.Spec.VolumeMode == v1.PersistentVolumeBlock {
		return nil, controller.ProvisioningFinished,
			fmt.Errorf("%s provides filesystem volumes only, not raw block volumes", p.name)
	}
	size, ok := claim.Spec.Resources.Requests[v1.ResourceStorage]
	if !ok {
		size = resource.MustParse("1Gi")
	}
	path := filepath.Join(p.root, options.PVName)
	if err := os.MkdirAll(path, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, fmt.Errorf("creating the volume's folder: %w", err)
	}
	// writable by any user of the pod, as local-path-provisioner makes its folders
	if err := os.Chmod(path, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, fmt.Errorf("opening the volume's folder: %w", err)
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if options.StorageClass.ReclaimPolicy != nil {
		reclaim = *options.StorageClass.ReclaimPolicy
	}
	directory := v1.HostPathDirectoryOrCreate
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: options.PVName},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: reclaim,
			AccessModes:                   claim.Spec.AccessModes,
			MountOptions:                  options.StorageClass.MountOptions,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: size},
			PersistentVolumeSource: v1.PersistentVolumeSource{
				HostPath: &v1.HostPathVolumeSource{Path: path, Type: &directory},
			},
		},
	}
	if options.SelectedNodeName != "" {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{
			NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
				Key:      hostnameLabel,
				Operator: v1.NodeSelectorOpIn,
				Values:   []string{options.SelectedNodeName},
			}}}},
		}}
	}
	klog.InfoS("provisioned", "claim", klog.KObj(claim), "volume", options.PVName, "node", options.SelectedNodeName,
		"path", path)
	return pv, controller.ProvisioningFinished, nil
}

func (p *hostPathProvisioner) Delete(_ context.Context, pv *v1.PersistentVolume) error {
	if pv.Spec.HostPath == nil {
		return &controller.IgnoredError{Reason: "not a hostPath volume"}
	}
	path := filepath.Clean(pv.Spec.HostPath.Path)
	if filepath.Dir(path) != filepath.Clean(p.root) {
		// never remove a folder this provisioner did not make
		return &controller.IgnoredError{Reason: fmt.Sprintf("%s is not a folder of %s", path, p.root)}
	}
	if err := os.RemoveAll(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the volume's folder: %w", err)
	}
	klog.InfoS("deleted", "volume", pv.Name, "path", path)
	return nil
}

func (p *hostPathProvisioner) SupportsBlock(context.Context) bool { return false }

func main() {
	klog.InitFlags(nil)
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	name := flag.String("provisioner", "testenv.dr-syncer.io/hostpath", "the provisioner name StorageClasses give")
	root := flag.String("root", "", "the folder the volumes' folders are made in")
	flag.Parse()
	if *kubeconfig == "" || *root == "" || !strings.Contains(*name, "/") {
		fmt.Fprintln(os.Stderr, "usage: dr-syncer-testenv-provisioner --kubeconfig FILE --root DIR [--provisioner NAME]")
		os.Exit(2)
	}
	absRoot, err := filepath.Abs(*root)
	if err == nil {
		err = os.MkdirAll(absRoot, 0o755)
	}
	if err != nil {
		klog.ErrorS(err, "the volumes' root folder")
		os.Exit(1)
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.ErrorS(err, "reading the kubeconfig")
		os.Exit(1)
	}
	config.UserAgent = "dr-syncer-testenv-provisioner"
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		klog.ErrorS(err, "making the client")
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctrl := controller.NewProvisionController(ctx, client, *name,
		&hostPathProvisioner{name: *name, root: absRoot},
		controller.LeaderElection(false),
		controller.Threadiness(4),
	)
	klog.InfoS("provisioning", "provisioner", *name, "root", absRoot)
	ctrl.Run(ctx)
}
