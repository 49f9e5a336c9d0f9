#include "TestSupport.h"

#include "cleanup/ExportId.h"
#include "cleanup/FileStore.h"

#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace exportd::cleanup;
using namespace exportd::cleanup::test;

namespace {

unsigned modeOf(const std::string& path)
{
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

std::string contentOf(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

/// The store of an exports directory (openDirectoryStore): what the rest of
/// exportd relies on when it writes, publishes, lists and removes export files.
class DirectoryStoreTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DirectoryStoreTest);
    CPPUNIT_TEST(testCreateRefusesAnExistingName);
    CPPUNIT_TEST(testFinishedFileIsMode0640WithEveryByte);
    CPPUNIT_TEST(testNamesThatLeaveTheDirectoryAreRefused);
    CPPUNIT_TEST(testLocalFileIsClaimedThenFinishedWithItsSize);
    CPPUNIT_TEST(testPublishRenamesAndSetsTheMode);
    CPPUNIT_TEST(testRemoveOfMissingFileIsGoneNotRemoved);
    CPPUNIT_TEST(testRemoveOfDirectoryIsAnError);
    CPPUNIT_TEST(testListSkipsNonRegularEntriesAndForeignNames);
    CPPUNIT_TEST(testBatchRemoverReportsErrorsAndMissingAsGone);
    CPPUNIT_TEST(testDiskFullHookFailsAWriteAsEnospc);
    CPPUNIT_TEST(testDiskFullHookFailsALargerLocalFile);
    CPPUNIT_TEST(testFreeBytesAndProblemOfAMissingDirectory);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _dir = std::make_unique<TempDir>();
        _exports = makeExportsDir(*_dir);
        _store = openDirectoryStore(_exports);
    }

    void tearDown() override
    {
        ::unsetenv("EXPORTD_FAULT_DISK_FULL_AFTER_BYTES");
        _store.reset();
        _dir.reset();
    }

    void testCreateRefusesAnExistingName()
    {
        const std::string id = newExportFile(_exports, "taken");
        const std::string before = contentOf(path(id));
        try {
            _store->create(id);
            CPPUNIT_FAIL("expected a StoreError");
        } catch (const StoreError& e) {
            CPPUNIT_ASSERT_EQUAL(EEXIST, e.code());
            CPPUNIT_ASSERT(!e.diskFull());
        }
        CPPUNIT_ASSERT_THROW(_store->createLocal(id), StoreError);
        CPPUNIT_ASSERT_EQUAL(before, contentOf(path(id)));
    }

    void testFinishedFileIsMode0640WithEveryByte()
    {
        const std::string name = partFileName(testId("written"));
        auto file = _store->create(name);
        file->write("id,name\r\n", 9);
        file->write("1,Ann\r\n", 7);
        file->finish();
        CPPUNIT_ASSERT_EQUAL(std::string("id,name\r\n1,Ann\r\n"), contentOf(path(name)));
        CPPUNIT_ASSERT_EQUAL(0640u, modeOf(path(name)));
    }

    void testNamesThatLeaveTheDirectoryAreRefused()
    {
        for (const std::string name : {"../escape", "a/b", "", ".", ".."}) {
            CPPUNIT_ASSERT_THROW_MESSAGE(name, _store->create(name), StoreError);
            CPPUNIT_ASSERT_MESSAGE(name, !_store->remove(name).gone);
        }
        CPPUNIT_ASSERT(!exists(_dir->file("escape")));
    }

    // Verifies the path a library writes by itself (libxlsxwriter): claimed
    // exclusively in the store, finished with its mode and size.
    void testLocalFileIsClaimedThenFinishedWithItsSize()
    {
        const std::string name = partFileName(testId("local"));
        const std::string local = _store->createLocal(name);
        CPPUNIT_ASSERT_EQUAL(path(name), local);
        CPPUNIT_ASSERT(exists(local));
        CPPUNIT_ASSERT_EQUAL(0, ::chmod(local.c_str(), 0666)); // as a library's fopen may leave it
        writeFile(local, "0123456789");
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(10), _store->finishLocal(name));
        CPPUNIT_ASSERT_EQUAL(0640u, modeOf(local));
    }

    void testPublishRenamesAndSetsTheMode()
    {
        const std::string id = testId("published");
        const std::string part = partFileName(id);
        writeFile(path(part), "done");
        CPPUNIT_ASSERT_EQUAL(0, ::chmod(path(part).c_str(), 0600));
        _store->publish(part, id);
        CPPUNIT_ASSERT(!exists(path(part)));
        CPPUNIT_ASSERT_EQUAL(std::string("done"), contentOf(path(id)));
        CPPUNIT_ASSERT_EQUAL(0640u, modeOf(path(id)));
        // A part that is not there cannot be published (and nothing appears).
        try {
            _store->publish(partFileName(testId("never")), testId("never"));
            CPPUNIT_FAIL("expected a StoreError");
        } catch (const StoreError& e) {
            CPPUNIT_ASSERT_EQUAL(ENOENT, e.code());
        }
        CPPUNIT_ASSERT(!exists(path(testId("never"))));
    }

    void testRemoveOfMissingFileIsGoneNotRemoved()
    {
        const std::string id = newExportFile(_exports, "removed");
        const Removal first = _store->remove(id);
        CPPUNIT_ASSERT(first.gone && first.removed);
        CPPUNIT_ASSERT(!exists(path(id)));
        const Removal again = _store->remove(id);
        CPPUNIT_ASSERT(again.gone);
        CPPUNIT_ASSERT(!again.removed);
        CPPUNIT_ASSERT(again.error.empty());
    }

    void testRemoveOfDirectoryIsAnError()
    {
        const std::string id = testId("directory");
        CPPUNIT_ASSERT_EQUAL(0, ::mkdir(path(id).c_str(), 0750));
        writeFile(path(id) + "/inside");
        const Removal r = _store->remove(id);
        CPPUNIT_ASSERT(!r.gone);
        CPPUNIT_ASSERT(!r.removed);
        CPPUNIT_ASSERT(!r.error.empty());
        CPPUNIT_ASSERT(exists(path(id) + "/inside"));
    }

    // Verifies what the sweeper and the usage figures see: exportd's own names
    // (an id, optionally .part) that are plain files, nothing else.
    void testListSkipsNonRegularEntriesAndForeignNames()
    {
        const std::string file = newExportFile(_exports, "listed");
        const std::string part = partFileName(testId("listedpart"));
        writeFile(path(part), "12345");
        writeFile(path("notes.txt"));
        writeFile(path("Quarterly_Report_2026_v2"));
        const std::string dir = testId("dir"), link = testId("link"), fifo = testId("fifo");
        CPPUNIT_ASSERT_EQUAL(0, ::mkdir(path(dir).c_str(), 0750));
        CPPUNIT_ASSERT_EQUAL(0, ::symlink(path(file).c_str(), path(link).c_str()));
        CPPUNIT_ASSERT_EQUAL(0, ::mkfifo(path(fifo).c_str(), 0640));

        std::vector<StoredFile> listed = _store->list();
        std::sort(listed.begin(), listed.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        std::vector<std::string> names;
        for (const auto& f : listed) names.push_back(f.name);
        std::vector<std::string> expected = {file, part};
        std::sort(expected.begin(), expected.end());
        CPPUNIT_ASSERT(names == expected);
        for (const auto& f : listed)
            CPPUNIT_ASSERT_EQUAL(static_cast<std::int64_t>(contentOf(path(f.name)).size()), f.sizeBytes);
    }

    // Verifies the asynchronous remover (io_uring for a directory): a file goes,
    // a missing one counts as gone, a directory named like an export is an
    // error (EISDIR), and every result carries its tag.
    void testBatchRemoverReportsErrorsAndMissingAsGone()
    {
        std::string why;
        auto remover = _store->openBatchRemover(8, 2, why);
        if (!remover) {
            std::printf("\n  no batch remover here (%s): nothing to test\n", why.c_str());
            return;
        }
        const std::string file = newExportFile(_exports, "batched");
        const std::string dir = testId("batchdir");
        CPPUNIT_ASSERT_EQUAL(0, ::mkdir(path(dir).c_str(), 0750));
        writeFile(path(dir) + "/inside");
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), remover->capacity());
        CPPUNIT_ASSERT(remover->submit(file, 1));
        CPPUNIT_ASSERT(remover->submit(testId("missing"), 2));
        CPPUNIT_ASSERT(remover->submit(dir, 3));
        std::map<std::uint64_t, std::string> results;
        while (remover->inFlight() > 0 && remover->answering())
            for (const auto& r : remover->reap(true))
                results[r.tag] = r.error;
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), results.size());
        CPPUNIT_ASSERT_EQUAL(std::string(), results[1]);
        CPPUNIT_ASSERT_EQUAL(std::string(), results[2]);
        CPPUNIT_ASSERT_MESSAGE("a directory cannot be removed as a file", !results[3].empty());
        CPPUNIT_ASSERT(!exists(path(file)));
        CPPUNIT_ASSERT(exists(path(dir) + "/inside"));
    }

    // Verifies the documented fault hook: past N bytes a write fails exactly
    // as ENOSPC, having written up to N.
    void testDiskFullHookFailsAWriteAsEnospc()
    {
        ::setenv("EXPORTD_FAULT_DISK_FULL_AFTER_BYTES", "5000", 1);
        const std::string name = partFileName(testId("full"));
        auto file = _store->create(name);
        const std::string chunk(3000, 'x');
        file->write(chunk.data(), chunk.size());
        try {
            file->write(chunk.data(), chunk.size());
            CPPUNIT_FAIL("expected a disk-full StoreError");
        } catch (const StoreError& e) {
            CPPUNIT_ASSERT_EQUAL(ENOSPC, e.code());
            CPPUNIT_ASSERT(e.diskFull());
        }
        file.reset();
        CPPUNIT_ASSERT_EQUAL(std::size_t(5000), contentOf(path(name)).size());
    }

    void testDiskFullHookFailsALargerLocalFile()
    {
        ::setenv("EXPORTD_FAULT_DISK_FULL_AFTER_BYTES", "5", 1);
        const std::string name = partFileName(testId("fulllocal"));
        writeFile(_store->createLocal(name), "0123456789");
        try {
            _store->finishLocal(name);
            CPPUNIT_FAIL("expected a disk-full StoreError");
        } catch (const StoreError& e) {
            CPPUNIT_ASSERT(e.diskFull());
        }
    }

    void testFreeBytesAndProblemOfAMissingDirectory()
    {
        CPPUNIT_ASSERT(_store->freeBytes().value_or(0) > 0);
        CPPUNIT_ASSERT_EQUAL(std::string(), _store->problem());
        const auto missing = openDirectoryStore(_dir->file("nowhere"));
        CPPUNIT_ASSERT_EQUAL(std::string("missing"), missing->problem());
        CPPUNIT_ASSERT(!missing->freeBytes());
        CPPUNIT_ASSERT_THROW(missing->list(), StoreError);
    }

private:
    std::string path(const std::string& name) const { return _exports + "/" + name; }

    std::unique_ptr<TempDir> _dir;
    std::string _exports;
    std::unique_ptr<FileStore> _store;
};

CPPUNIT_TEST_SUITE_REGISTRATION(DirectoryStoreTest);
