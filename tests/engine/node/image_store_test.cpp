#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>

#include "engine/node/file_tree.h"
#include "engine/node/image_store.h"

namespace fs = std::filesystem;

namespace {

const fs::path kBusybox = KD_BINARY_DIR "/images/busybox";

void writeFile(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

bool isWhiteout(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool isOpaque(const fs::path& p) {
  char v[2] = {};
  return ::lgetxattr(p.c_str(), "trusted.overlay.opaque", v, 1) == 1 && v[0] == 'y';
}

}  // namespace

class ImageStoreTest : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir(const char* sub) { return fs::path(tmp_.path().toStdString()) / sub; }

 private slots:
  void whiteoutsBecomeOverlayForm() {
    const fs::path layer = dir("layer");
    writeFile(layer / "a" / ".wh.gone", "");
    writeFile(layer / "c" / ".wh..wh..opq", "");
    writeFile(layer / "c" / "new", "new");
    QVERIFY(kd::node::convertWhiteouts(layer).isOk());
    QVERIFY(isWhiteout(layer / "a" / "gone"));
    QVERIFY(!fs::exists(layer / "a" / ".wh.gone"));
    QVERIFY(isOpaque(layer / "c"));
    QVERIFY(!fs::exists(layer / "c" / ".wh..wh..opq"));
    QVERIFY(fs::exists(layer / "c" / "new"));
  }

  void copyingALayerAppliesWhiteouts() {
    const fs::path target = dir("target");
    writeFile(target / "a" / "gone", "old");
    writeFile(target / "a" / "kept", "kept");
    writeFile(target / "c" / "old", "old");
    QVERIFY(kd::node::applyLayerCopy(dir("layer"), target).isOk());
    QVERIFY(!fs::exists(target / "a" / "gone"));
    QVERIFY(fs::exists(target / "a" / "kept"));
    QVERIFY(!fs::exists(target / "c" / "old"));  // opaque: the lower content is hidden
    QVERIFY(fs::exists(target / "c" / "new"));
  }

  void importsTheBundledBusybox() {
    kd::node::ImageStore store(dir("store"));
    QVERIFY(store.open().isOk());
    auto names = store.importOciLayout(kBusybox);
    QVERIFY2(names.ok(), names.status().message().c_str());
    QCOMPARE(*names, std::vector<std::string>{"docker.io/library/busybox:latest"});
    for (const char* name : {"busybox", "busybox:latest", "docker.io/library/busybox"}) {
      auto image = store.find(name);
      QVERIFY2(image.ok(), name);
      QCOMPARE(image->layers.size(), size_t(1));
      QCOMPARE(image->config["Cmd"], kd::json::array({"sh"}));
      QVERIFY(image->imageId().rfind("docker.io/library/busybox@sha256:", 0) == 0);
    }
    QCOMPARE(store.find("nginx").status().code(), 404);

    kd::node::ImageStore reopened(dir("store"));  // references survive a restart
    QVERIFY(reopened.open().isOk());
    QVERIFY(reopened.find("busybox").ok());
  }

  void preparesARootfs() {
    kd::node::ImageStore store(dir("store"));
    QVERIFY(store.open().isOk());
    auto image = store.find("busybox");
    QVERIFY(image.ok());
    const fs::path container = dir("container");
    auto rootfs = store.prepareRootfs(*image, container);
    QVERIFY2(rootfs.ok(), rootfs.status().message().c_str());
    QVERIFY(fs::is_symlink(*rootfs / "bin" / "sh"));
    QVERIFY(fs::exists(*rootfs / "bin" / "busybox"));
    writeFile(*rootfs / "tmp" / "scratch", "x");  // writes land in the container's own layer
    QVERIFY(kd::node::ImageStore::releaseRootfs(container).isOk());
    QVERIFY(!fs::exists(*rootfs));
    auto again = store.prepareRootfs(*image, dir("container2"));
    QVERIFY(again.ok());
    QVERIFY(!fs::exists(*again / "tmp" / "scratch"));
    QVERIFY(kd::node::ImageStore::releaseRootfs(dir("container2")).isOk());
  }

  void rejectsATamperedBlob() {
    const fs::path layout = dir("tampered");
    fs::copy(kBusybox, layout, fs::copy_options::recursive);
    auto index = kd::json::parse(std::ifstream(layout / "index.json"));
    const std::string manifestDigest = index["manifests"][0]["digest"];
    auto manifest =
        kd::json::parse(std::ifstream(layout / "blobs/sha256" / manifestDigest.substr(7)));
    const std::string config = manifest["config"]["digest"];
    writeFile(layout / "blobs/sha256" / config.substr(7), "{}");
    kd::node::ImageStore store(dir("store2"));
    QVERIFY(store.open().isOk());
    auto names = store.importOciLayout(layout);
    QVERIFY(!names.ok());
    QVERIFY2(names.status().message().find("digest mismatch") != std::string::npos,
             names.status().message().c_str());
  }

  void importsArchives() {
    // An oci-archive is the layout in a tarball; a docker-archive (docker save) has a
    // manifest.json, the config and uncompressed layers.
    const fs::path oci = dir("busybox-oci.tar");
    QCOMPARE(QProcess::execute("tar", {"-C", QString::fromStdString(kBusybox.string()), "-cf",
                                       QString::fromStdString(oci.string()), "."}),
             0);
    const fs::path docker = dir("docker");
    kd::node::ImageStore source(dir("store"));
    QVERIFY(source.open().isOk());
    auto image = source.find("busybox");
    QVERIFY(image.ok());
    fs::create_directories(docker);
    fs::copy_file(dir("store") / "blobs/sha256" / image->configDigest.substr(7),
                  docker / "config.json");
    QCOMPARE(
        QProcess::execute(
            "sh",
            {"-c",
             QString("gunzip -c %1 > %2")
                 .arg(QString::fromStdString(
                          (dir("store") / "blobs/sha256" / image->layers[0].substr(7)).string()),
                      QString::fromStdString((docker / "layer.tar").string()))}),
        0);
    writeFile(docker / "manifest.json",
              "[{\"Config\": \"config.json\", \"RepoTags\": [\"example.com/bb:v1\"], "
              "\"Layers\": [\"layer.tar\"]}]");
    const fs::path dockerTar = dir("busybox-docker.tar");
    QCOMPARE(QProcess::execute("tar", {"-C", QString::fromStdString(docker.string()), "-cf",
                                       QString::fromStdString(dockerTar.string()), "."}),
             0);

    kd::node::ImageStore store(dir("store3"));
    QVERIFY(store.open().isOk());
    auto fromOci = store.importArchive(oci);
    QVERIFY2(fromOci.ok(), fromOci.status().message().c_str());
    QVERIFY(store.find("busybox").ok());
    auto fromDocker = store.importArchive(dockerTar);
    QVERIFY2(fromDocker.ok(), fromDocker.status().message().c_str());
    QCOMPARE(*fromDocker, std::vector<std::string>{"example.com/bb:v1"});
    auto bb = store.find("example.com/bb:v1");
    QVERIFY(bb.ok());
    QCOMPARE(bb->configDigest, image->configDigest);
    auto rootfs = store.prepareRootfs(*bb, dir("container3"));
    QVERIFY2(rootfs.ok(), rootfs.status().message().c_str());
    QVERIFY(fs::exists(*rootfs / "bin" / "busybox"));
    QVERIFY(kd::node::ImageStore::releaseRootfs(dir("container3")).isOk());
    QVERIFY(!store.importArchive(dir("store3") / "references.json").ok());

    // Node.status.images: one entry per manifest, repo digests then tags, largest first (the
    // docker-archive's layer is stored uncompressed).
    const auto busybox = store.find("busybox");
    QVERIFY(store.setReference("docker.io/library/busybox:1.36", busybox->manifestDigest, false)
                .isOk());
    const auto images = store.list();
    QCOMPARE(images.size(), size_t(2));
    QCOMPARE(images[0].names, (std::vector<std::string>{"example.com/bb@" + bb->manifestDigest,
                                                        "example.com/bb:v1"}));
    QCOMPARE(images[1].names,
             (std::vector<std::string>{"docker.io/library/busybox@" + busybox->manifestDigest,
                                       "docker.io/library/busybox:1.36",
                                       "docker.io/library/busybox:latest"}));
    QVERIFY(images[1].sizeBytes > 100 * 1000);  // busybox-static, gzipped
    QVERIFY(images[0].sizeBytes > images[1].sizeBytes);
  }

  void removesImagesAndWhatOnlyTheyUsed() {
    // store3 from importsArchives: busybox (:latest and :1.36, one manifest) and
    // example.com/bb:v1 (the same config, its layer uncompressed: a blob of its own).
    kd::node::ImageStore store(dir("store3"));
    QVERIFY(store.open().isOk());
    const auto busybox = store.find("busybox");
    const auto bb = store.find("example.com/bb:v1");
    QVERIFY(busybox.ok() && bb.ok());
    const fs::path blobs = dir("store3") / "blobs/sha256";
    auto blob = [&](const std::string& digest) { return blobs / digest.substr(7); };
    QVERIFY(fs::is_directory(dir("store3") / "layers" / bb->layers[0].substr(7)));  // unpacked

    // An untag of one of two names keeps the image.
    QVERIFY(store.removeImage("busybox:1.36").isOk());
    QCOMPARE(store.removeImage("busybox:1.36").code(), 404);
    QVERIFY(store.find("busybox").ok());
    QVERIFY(fs::exists(blob(busybox->manifestDigest)));

    // The last name of bb goes with its manifest and layer (blob and unpacked), but not the
    // config busybox shares.
    QVERIFY(store.removeImage("example.com/bb:v1").isOk());
    QCOMPARE(store.find("example.com/bb:v1").status().code(), 404);
    QVERIFY(!fs::exists(blob(bb->manifestDigest)));
    QVERIFY(!fs::exists(blob(bb->layers[0])));
    QVERIFY(!fs::exists(dir("store3") / "layers" / bb->layers[0].substr(7)));
    QVERIFY(fs::exists(blob(bb->configDigest)));
    QVERIFY(fs::exists(blob(busybox->layers[0])));
    QVERIFY(store.find("busybox").ok());

    kd::node::ImageStore reopened(dir("store3"));  // the removal is on disk
    QVERIFY(reopened.open().isOk());
    QCOMPARE(reopened.find("example.com/bb:v1").status().code(), 404);
    QCOMPARE(reopened.list().size(), size_t(1));
    QCOMPARE(reopened.removeImage("no such:name").code(), 400);
  }

  void digests() {
    QCOMPARE(
        kd::node::sha256Digest(""),
        std::string("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  }

  // Pod teardown's removal: everything under the path goes, including more entries than
  // one 4 KiB getdents buffer holds, while a symbolic link is removed without following it.
  void removeTreeRemovesEverythingUnderAPathAndFollowsNoLink() {
    const fs::path outside = dir("kept");
    writeFile(outside / "file", "stays");
    const fs::path tree = dir("tree");
    for (int i = 0; i < 300; ++i) {
      writeFile(tree / "wide" / ("entry-with-a-long-name-" + std::to_string(i)), "x");
    }
    writeFile(tree / "a" / "b" / "c" / "d" / "deep", "x");
    fs::create_directory_symlink(outside, tree / "a" / "link-to-kept");
    fs::create_symlink("/nonexistent", tree / "dangling");
    ::chmod((tree / "a" / "b").c_str(), 0500);  // root removes under it all the same

    std::error_code ec;
    kd::node::removeTree(tree, ec);
    QVERIFY2(!ec, ec.message().c_str());
    QVERIFY(!fs::exists(fs::symlink_status(tree)));
    QVERIFY(fs::exists(outside / "file"));

    kd::node::removeTree(tree, ec);  // gone already: nothing to do, no error
    QVERIFY2(!ec, ec.message().c_str());
    kd::node::removeTree(outside / "file", ec);  // a file on its own
    QVERIFY2(!ec, ec.message().c_str());
    QVERIFY(!fs::exists(outside / "file"));
  }
};

QTEST_GUILESS_MAIN(ImageStoreTest)
#include "image_store_test.moc"
